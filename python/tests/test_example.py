"""The reduced example run: a torch.nn Transformer trained on Fashion-MNIST, converted, fine-tuned."""
import importlib.util
import pathlib

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "fashion_mnist_transformer.py"


def test_example_quick():
    spec = importlib.util.spec_from_file_location("fashion_mnist_transformer", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    r = mod.main(["--quick"])
    assert r["replaced"] == 9  # 5 LayerNorms, 2 Softmax, 2 GELU
    assert r["float"] > 0.6            # chance is 0.1
    assert r["converted"] > r["float"] - 0.1
    assert r["finetuned"] > 0.6
