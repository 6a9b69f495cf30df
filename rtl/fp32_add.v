// gqalut reference design: FP32 building block of lut_fp32.v (same conventions).
// y = a + b, round to nearest even, FTZ, canonical NaN.
`timescale 1ns / 1ps
module fp32_add (
  input  wire [31:0] a,
  input  wire [31:0] b,
  output reg  [31:0] y
);
  wire a_zero = (a[30:23] == 8'h00), b_zero = (b[30:23] == 8'h00);
  wire a_inf = (a[30:23] == 8'hff) && (a[22:0] == 0), b_inf = (b[30:23] == 8'hff) && (b[22:0] == 0);
  wire a_nan = (a[30:23] == 8'hff) && (a[22:0] != 0), b_nan = (b[30:23] == 8'hff) && (b[22:0] != 0);
  // Order by magnitude: l is the larger, r the smaller.
  wire swap = b[30:0] > a[30:0];
  wire [31:0] l = swap ? b : a;
  wire [31:0] r = swap ? a : b;
  wire [7:0] d = l[30:23] - r[30:23];
  wire sub = l[31] ^ r[31];
  // 27-bit mantissas: 1.f, then guard, round, sticky.
  wire [26:0] ml = {1'b1, l[22:0], 3'b000};
  wire [26:0] mr0 = {1'b1, r[22:0], 3'b000};
  wire [26:0] mr_sh = (d >= 8'd27) ? 27'd0 : (mr0 >> d);
  wire lost = (d >= 8'd27) ? 1'b1 : ((mr_sh << d) != mr0);
  wire [26:0] ms = {mr_sh[26:1], mr_sh[0] | lost};
  wire [27:0] sum = sub ? ({1'b0, ml} - {1'b0, ms}) : ({1'b0, ml} + {1'b0, ms});
  // Leading-zero count of sum[26:0] (used when there is no carry out).
  reg [4:0] lz;
  integer i;
  always @* begin
    lz = 5'd27;
    for (i = 0; i <= 26; i = i + 1)
      if (sum[i]) lz = 5'd26 - i[4:0];
  end
  wire [26:0] norm = sum[27] ? {sum[27:2], sum[1] | sum[0]} : (sum[26:0] << lz);
  wire signed [9:0] en = $signed({2'b0, l[30:23]}) + (sum[27] ? 10'sd1 : -$signed({5'b0, lz}));
  wire [23:0] m = norm[26:3];
  wire inc = norm[2] & (norm[1] | norm[0] | m[0]);
  wire [24:0] mrnd = {1'b0, m} + {24'b0, inc};
  wire signed [9:0] e = en + $signed({9'b0, mrnd[24]});
  wire [22:0] frac = mrnd[24] ? mrnd[23:1] : mrnd[22:0];
  always @* begin
    if (a_nan || b_nan || (a_inf && b_inf && (a[31] != b[31]))) y = 32'h7fc00000;
    else if (a_inf) y = a;
    else if (b_inf) y = b;
    else if (a_zero && b_zero) y = {a[31] & b[31], 31'b0};
    else if (a_zero) y = b;
    else if (b_zero) y = a;
    else if (sum == 28'd0) y = 32'h00000000;  // exact cancellation: +0
    else if (e >= 10'sd255) y = {l[31], 8'hff, 23'b0};
    else if (e <= 10'sd0) y = {l[31], 31'b0};
    else y = {l[31], e[7:0], frac};
  end
endmodule
