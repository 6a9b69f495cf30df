// gqalut reference design: FP32 building block of lut_fp32.v (same conventions).
// y = a * b, round to nearest even, FTZ, canonical NaN.
`timescale 1ns / 1ps
module fp32_mul (
  input  wire [31:0] a,
  input  wire [31:0] b,
  output reg  [31:0] y
);
  wire [7:0] ea = a[30:23], eb = b[30:23];
  wire s = a[31] ^ b[31];
  wire a_zero = (ea == 8'h00), b_zero = (eb == 8'h00);
  wire a_inf = (ea == 8'hff) && (a[22:0] == 0), b_inf = (eb == 8'hff) && (b[22:0] == 0);
  wire a_nan = (ea == 8'hff) && (a[22:0] != 0), b_nan = (eb == 8'hff) && (b[22:0] != 0);
  wire [47:0] p = {1'b1, a[22:0]} * {1'b1, b[22:0]};
  // Normalise to 1.xxx: keep 24 bits, a round bit and a sticky bit.
  wire [23:0] m = p[47] ? p[47:24] : p[46:23];
  wire rnd = p[47] ? p[23] : p[22];
  wire sticky = p[47] ? (p[22:0] != 0) : (p[21:0] != 0);
  wire inc = rnd & (sticky | m[0]);
  wire [24:0] mr = {1'b0, m} + {24'b0, inc};
  // Biased exponent: ea + eb - 127 (+1 for p[47], +1 for rounding overflow).
  wire signed [10:0] e = $signed({3'b0, ea}) + $signed({3'b0, eb}) - 11'sd127
                         + $signed({10'b0, p[47]}) + $signed({10'b0, mr[24]});
  wire [22:0] frac = mr[24] ? mr[23:1] : mr[22:0];
  always @* begin
    if (a_nan || b_nan || (a_inf && b_zero) || (b_inf && a_zero)) y = 32'h7fc00000;
    else if (a_inf || b_inf) y = {s, 8'hff, 23'b0};
    else if (a_zero || b_zero) y = {s, 31'b0};
    else if (e >= 11'sd255) y = {s, 8'hff, 23'b0};
    else if (e <= 11'sd0) y = {s, 31'b0};
    else y = {s, e[7:0], frac};
  end
endmodule
