// The parts every integer LayerNorm unit needs, at their narrowest, for the area floor in
// docs/hardware.md ("How far the area goal is"): one module per part, synthesised alone in the
// default flow (yosys 0.23: synth -flatten, dfflibmap and abc with the OSU 0.18 um Liberty file,
// stat -liberty). Not a unit: no control, no Newton steps, no gamma/beta path.

// One per-element product, (x - mean) times the row's scale a, or z times gamma: 8 x 18 bits is
// the precision a 0.5-step max error needs at outputs near 127 (127 * 2^-18 = 0.0005 steps).
module lnf_mul8x18 (input clk, input signed [7:0] a, input signed [17:0] b, output reg signed [25:0] y);
  always @(posedge clk) y <= a * b;
endmodule

// The same at 12 bits (up to 127 * 2^-12 = 0.03 steps beyond the rounding: 0.53 steps).
module lnf_mul8x12 (input clk, input signed [7:0] a, input signed [11:0] b, output reg signed [19:0] y);
  always @(posedge clk) y <= a * b;
endmodule

// The row statistics: sum and sum of squares of int8 codes over rows up to 256.
module lnf_stats (input clk, input rst, input en, input signed [7:0] x, output reg signed [16:0] sx,
                  output reg [23:0] sxx);
  wire signed [15:0] sq = x * x;
  always @(posedge clk)
    if (rst) begin
      sx <= 0;
      sxx <= 0;
    end else if (en) begin
      sx <= sx + x;
      sxx <= sxx + sq[14:0];
    end
endmodule

// The output rounding: a rounding right shift by a per-row amount and saturation to int8.
module lnf_round (input clk, input signed [25:0] d, input [4:0] s, output reg signed [7:0] y);
  wire signed [25:0] r = (d + (26'sd1 <<< s)) >>> (s + 1);
  always @(posedge clk) y <= (r > 127) ? 8'sd127 : (r < -128) ? -8'sd128 : r[7:0];
endmodule
