// gqalut reference design: FP32 building block of lut_fp32.v (same conventions).
// a >= b, IEEE semantics with subnormals flushed to zero.
`timescale 1ns / 1ps
module fp32_ge (
  input  wire [31:0] a,
  input  wire [31:0] b,
  output wire        ge
);
  wire a_nan = (a[30:23] == 8'hff) && (a[22:0] != 0);
  wire b_nan = (b[30:23] == 8'hff) && (b[22:0] != 0);
  wire a_zero = (a[30:23] == 8'h00);  // zero or subnormal (flushed)
  wire b_zero = (b[30:23] == 8'h00);
  // Order-preserving keys: +0 for every zero; negatives inverted.
  wire [31:0] ka = a_zero ? 32'h80000000 : (a[31] ? ~a : {1'b1, a[30:0]});
  wire [31:0] kb = b_zero ? 32'h80000000 : (b[31] ? ~b : {1'b1, b[30:0]});
  assign ge = !a_nan && !b_nan && (ka >= kb);
endmodule
