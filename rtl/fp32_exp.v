/* verilator lint_off DECLFILENAME */
// gqalut reference design (issue 16): y = e^d in FP32, from the project's FP32 primitives.
//   t = fl(d * L2E)                      L2E = fl(log2 e) = 0x3fb8aa3b
//   k = round_half_away(t)               integer (fp32_to_int); |t| >= 256 -> y = 0 or +inf
//   f = fl(t - float(k))                 in [-1/2, 1/2] (exact)
//   p = Horner c5..c0 at f               c_i: degree-5 Chebyshev interpolant of 2^f on
//                                        [-1/2, 1/2], rounded to FP32 (rel. error 2.4e-7)
//   y = p * 2^k                          exponent add; a result below the normal range is +0
// NaN in -> canonical NaN. Every fl() is fp32_mul / fp32_add (round to nearest even, FTZ).
// PIPE = 1 registers the result of every FP operation (latency LAT = 12 cycles, one
// operation per stage, advancing when en = 1); PIPE = 0 is combinational (LAT = 0).
`timescale 1ns / 1ps
module fp32_exp #(
  parameter PIPE = 1
) (
  input  wire        clk,
  input  wire        en,
  input  wire [31:0] d,
  output wire [31:0] y
);
  localparam [31:0] L2E = 32'h3fb8aa3b;
  localparam [191:0] C = {32'h3aaf8448, 32'h3c1e8838, 32'h3d6357b6, 32'h3e75fc83, 32'h3f317218, 32'h3f800001};
  // Stage 1: t = d * log2(e).
  wire [31:0] t0, t;
  fp32_mul u_t (.a(d), .b(L2E), .y(t0));
  ref_pipe #(.W(32), .EN(PIPE)) p_t (.clk(clk), .en(en), .d(t0), .q(t));
  // Stage 2: k and f = t - k.
  wire [9:0] k0;
  fp32_to_int #(.OW(10), .S(0), .LO(-511), .HI(511)) u_k (.x(t), .y(k0));
  wire [31:0] kf;
  fp32_from_int #(.W(10), .F(0)) u_kf (.q(k0), .y(kf));
  wire [31:0] f0;
  fp32_add u_f (.a(t), .b({~kf[31], kf[30:0]}), .y(f0));
  // Range class of t: 0 normal, 1 underflow (y = +0), 2 overflow (+inf), 3 NaN.
  wire t_nan = (t[30:23] == 8'hff) && (t[22:0] != 0);
  wire t_big = (t[30:23] >= 8'd135);  // |t| >= 256
  wire [1:0] cls0 = t_nan ? 2'd3 : (t_big ? (t[31] ? 2'd1 : 2'd2) : 2'd0);
  // Horner: p = c5; p = p * f + c_i for i = 4..0 (stages 3..12), k and the class ride along.
  wire [31:0] f;
  wire [9:0] k1;
  wire [1:0] cls1;
  ref_pipe #(.W(44), .EN(PIPE)) p_f (.clk(clk), .en(en), .d({f0, k0, cls0}), .q({f, k1, cls1}));
  wire [31:0] acc [0:5];
  wire [31:0] fs [0:5];
  wire [9:0] ks [0:5];
  wire [1:0] cs [0:5];
  assign acc[0] = C[191:160];
  assign fs[0] = f;
  assign ks[0] = k1;
  assign cs[0] = cls1;
  genvar gi;
  generate
    for (gi = 0; gi < 5; gi = gi + 1) begin : horner
      wire [31:0] m0, m, a0, fm, fa;
      wire [9:0] km, ka;
      wire [1:0] cm, ca;
      fp32_mul u_m (.a(acc[gi]), .b(fs[gi]), .y(m0));
      ref_pipe #(.W(76), .EN(PIPE)) p_m (.clk(clk), .en(en), .d({m0, fs[gi], ks[gi], cs[gi]}), .q({m, fm, km, cm}));
      fp32_add u_a (.a(m), .b(C[32*(4-gi)+31:32*(4-gi)]), .y(a0));
      ref_pipe #(.W(76), .EN(PIPE)) p_a (.clk(clk), .en(en), .d({a0, fm, km, cm}), .q({acc[gi+1], fa, ka, ca}));
      assign fs[gi+1] = fa;
      assign ks[gi+1] = ka;
      assign cs[gi+1] = ca;
    end
  endgenerate
  // Scale by 2^k: p is in [0.7, 1.5], positive and normal.
  wire [31:0] p = acc[5];
  wire signed [10:0] e = $signed({3'b0, p[30:23]}) + $signed({ks[5][9], ks[5]});
  reg [31:0] r;
  always @* begin
    case (cs[5])
      2'd1: r = 32'h00000000;
      2'd2: r = 32'h7f800000;
      2'd3: r = 32'h7fc00000;
      default: r = (e <= 0) ? 32'h00000000 : ((e >= 255) ? 32'h7f800000 : {1'b0, e[7:0], p[22:0]});
    endcase
  end
  wire unused_fs = &{1'b0, fs[5], p[31]};
  assign y = r;
endmodule
