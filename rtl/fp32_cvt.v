/* verilator lint_off DECLFILENAME */
// gqalut reference design (issue 16): conversions between integer codes and FP32, in the
// conventions of fp32_add.v / fp32_mul.v (round to nearest even, FTZ, canonical NaN).
//
// fp32_from_int: y = q * 2^-F for a signed W-bit code q, rounded to nearest even when q has
// more than 24 significant bits (W > 24). The result is always normal for |F| <= 100.
`timescale 1ns / 1ps
module fp32_from_int #(
  parameter W = 8,
  parameter F = 0
) (
  input  wire [W-1:0] q,
  output reg  [31:0]  y
);
  localparam [31:0] WM = (W > 24) ? W : 24;  // magnitude width, at least the mantissa
  wire s = q[W-1];
  wire [W-1:0] qm = s ? (~q + 1'b1) : q;  // |q|; -2^(W-1) stays 2^(W-1) read unsigned
  wire [WM-1:0] mag = {{(WM-W){1'b0}}, qm};
  reg [5:0] lz;
  integer i;
  always @* begin
    lz = 6'd0;
    for (i = 0; i < WM; i = i + 1)
      if (mag[i]) lz = WM[5:0] - 6'd1 - i[5:0];
  end
  wire [WM-1:0] nrm = mag << lz;  // leading one at WM-1
  // Round the WM-bit normalised magnitude to 24 bits (only when WM > 24).
  wire [23:0] top = nrm[WM-1:WM-24];
  wire inc;
  generate
    if (WM > 24) begin : rnd
      wire g = nrm[WM-25];
      wire st = (WM > 25) ? (nrm[WM-26:0] != 0) : 1'b0;
      assign inc = g & (st | top[0]);
    end else begin : exact
      assign inc = 1'b0;
    end
  endgenerate
  wire [24:0] mr = {1'b0, top} + {24'b0, inc};
  wire [31:0] e = 32'd127 + WM - 32'd1 - {26'b0, lz} - F + {31'b0, mr[24]};
  always @* begin
    if (mag == 0) y = 32'h00000000;
    else y = {s, e[7:0], mr[24] ? mr[23:1] : mr[22:0]};
  end
  wire unused_e = &{1'b0, e[31:8]};
endmodule

// fp32_to_int: y = clamp(round_half_away(x * 2^S), LO, HI) as a signed OW-bit code.
// NaN gives 0; +-inf and out-of-range values saturate; zeros and subnormals give 0.
module fp32_to_int #(
  parameter OW = 8,
  parameter S = 0,
  parameter signed [31:0] LO = -128,
  parameter signed [31:0] HI = 127
) (
  input  wire [31:0]   x,
  output reg  [OW-1:0] y
);
  localparam SH = OW + 1;  // the largest left shift that can stay in range
  wire [7:0] ex = x[30:23];
  wire nan = (ex == 8'hff) && (x[22:0] != 0);
  // Exponent of x * 2^S relative to 0.5: x*2^(S+1) = 1.m * 2^(ex + S - 126).
  wire signed [10:0] eh = $signed({3'b0, ex}) + S - 11'sd126;
  wire [23+SH:0] sh = {{SH{1'b0}}, 1'b1, x[22:0]} << eh[5:0];
  wire [SH+1:0] twice = {1'b0, sh[23+SH:23]};  // floor(|x| * 2^(S+1))
  wire [SH+1:0] sum = twice + 1'b1;
  wire [SH:0] mag = sum[SH+1:1];  // round half away from zero
  wire signed [31:0] v = x[31] ? -$signed({{(31-SH){1'b0}}, mag}) : $signed({{(31-SH){1'b0}}, mag});
  always @* begin
    if (nan || ex == 8'h00 || eh < 0) y = {OW{1'b0}};
    else if (eh > SH) y = x[31] ? LO[OW-1:0] : HI[OW-1:0];
    else if (v < LO) y = LO[OW-1:0];
    else if (v > HI) y = HI[OW-1:0];
    else y = v[OW-1:0];
  end
  wire unused_sh = &{1'b0, sh[22:0], sum[0]};
endmodule
