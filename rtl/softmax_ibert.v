/* verilator lint_off DECLFILENAME */
// gqalut reference design (issue 16): I-BERT-style integer softmax unit (Kim et al., "I-BERT:
// Integer-only BERT Quantization", ICML 2021, section 3), written from the paper's description;
// the expected values of its testbenches come from gqalut::ibert (include/gqalut/ibert.hpp),
// whose plan gives the constants (QLN2, QB, QC: the generator passes them, nothing is retyped).
// Same interface as softmax_fp32: int8 logits q at 2^-IN_FRAC in, uint8 probabilities at
// 2^-OUT_FRAC out, valid/ready, rows of 1..MAXN ending with in_last / out_last.
// The generator sets the constants from ibert::make_softmax (its working scale: u = (q - M) 2^SHIFT).
//   load:  M = max_i q_i                                    (buffer of int8 codes)
//   sum:   u = (q - M) 2^SHIFT <= 0; z = floor(-u / QLN2) (constant division); p = u + z QLN2;
//          e = ((p + QB)^2 + QC) >> z (0 for z > 62);  S = sum e
//   out:   e recomputed; p_i = min(floor((2 e 2^OUT_FRAC + S) / (2 S)), 255)
//          (I-BERT's integer division: a restoring divider of OUT_FRAC + 1 quotient bits,
//           enough since e <= S)
// PIPE = 1 registers the exp (2 stages) and every quotient bit; PIPE = 0 leaves both
// combinational. The next row is accepted when the last output has left: rows of n run back to
// back every 3n + 2 LE + 1 + (PIPE ? OUT_FRAC + 1 : 0) cycles (first input to first input),
// LE = 1 + (PIPE ? 2 : 0) (the registry's elements per cycle: max_n / that; test_reference_timing).
// RESTREAM = 1 (docs/hw_reference_units.md, "re-streaming"): no row buffer; the source sends each
// row three times (identical); passes 2 and 3 are taken from the input in place of the buffer read
// (in_ready high while the element pipeline advances, low after a pass's last beat until the next
// phase); latencies and arithmetic are unchanged, the interval too (source keeping up).
`timescale 1ns / 1ps
module softmax_ibert #(
  parameter MAXN = 256,
  parameter OUT_FRAC = 8,
  parameter SHIFT = 6,                 // u is shifted to the working scale 2^-(IN_FRAC + SHIFT)
  parameter [63:0] QLN2 = 709,         // floor(ln2 2^work_frac)
  parameter [63:0] QB = 1385,          // floor(1.353 2^work_frac)
  parameter [63:0] QC = 1006164,       // floor(0.344 / (0.3585 4^-work_frac))
  parameter UW = 9 + SHIFT,            // bits of -u << SHIFT, plus one
  parameter BW = 11,                   // bits of QB
  parameter PW = 22,                   // bits of e: QB^2 + QC < 2^PW
  parameter PIPE = 1,
  parameter RESTREAM = 0,
  parameter AW = (MAXN <= 2) ? 1 : $clog2(MAXN)
) (
  input  wire       clk,
  input  wire       rst,
  input  wire       in_valid,
  output wire       in_ready,
  input  wire [7:0] in_q,
  input  wire       in_last,
  output wire       out_valid,
  input  wire       out_ready,
  output wire [7:0] out_p,
  output wire       out_last
);
  localparam [1:0] S_LOAD = 2'd0, S_SUM = 2'd1, S_OUT = 2'd3;
  localparam SW = PW + AW + 1;            // bits of S
  localparam QW = OUT_FRAC + 1;           // quotient bits: e <= S gives p <= 2^OUT_FRAC
  localparam NW = PW + OUT_FRAC + 2;      // 2 e 2^o + S < 2^(PW + o + 1) + 2^SW
  localparam NWX = (NW > SW + 1) ? NW + 1 : SW + 2;
  localparam LE = 1 + (PIPE != 0 ? 2 : 0); // buffer read to e
  reg [1:0] st;
  reg signed [7:0] mx;
  reg [SW-1:0] sum;
  wire adv, out_done;  // the element pipeline advances; the row's last output leaves

  // Load: buffer the codes (RESTREAM = 0), running maximum; the sum and out phases read them back
  // (RESTREAM = 1: take them from the second and third passes of the row).
  wire in_first, in_end, e_v, e_l;
  wire [AW:0] n_unused;
  wire [7:0] q_r;
  wire v_r, l_r;
  ref_row_source #(.W(8), .MAXN(MAXN), .AW(AW), .RESTREAM(RESTREAM)) u_src (.clk(clk), .rst(rst), .valid(in_valid),
    .d(in_q), .last(in_last), .ready(in_ready), .load(st == S_LOAD), .rd(st == S_SUM || st == S_OUT),
    .rewind(st == S_SUM && e_v && e_l), .en(adv), .first(in_first), .pend(in_end), .n(n_unused), .q(q_r), .v(v_r),
    .l(l_r));

  // Element pipeline: read, range reduction, i-poly, shift.
  wire [8:0] nu9 = {mx[7], mx} - {q_r[7], q_r};     // M - q in [0, 255]
  wire [UW:0] nu = {{(UW-8){1'b0}}, nu9} << SHIFT;   // -u at the working scale
  localparam [UW:0] QLN2W = QLN2[UW:0];
  localparam [BW+UW:0] QBW = QB[BW+UW:0];
  localparam [2*BW-1:0] QCW = QC[2*BW-1:0];
  wire [UW:0] zw = nu / QLN2W;
  wire [8:0] z0 = zw[8:0];                               // <= 510: 9 bits
  wire [UW:0] zl = {{(UW-8){1'b0}}, z0} * QLN2W;         // z QLN2 <= -u
  wire [UW:0] p0 = zl - nu;                              // u + z QLN2 in (-QLN2, 0], two's complement
  wire [8:0] z1;
  wire [UW:0] p1;
  ref_pipe #(.W(UW + 10), .EN(PIPE)) p_z (.clk(clk), .en(adv), .d({z0, p0}), .q({z1, p1}));
  wire [BW+UW:0] pbw = {{BW{p1[UW]}}, p1} + QBW;         // p + QB in [QB - QLN2 + 1, QB], > 0
  wire [BW-1:0] pb = pbw[BW-1:0];
  wire [2*BW-1:0] poly0 = {{BW{1'b0}}, pb} * {{BW{1'b0}}, pb} + QCW;  // < 2^PW
  wire [PW-1:0] e0 = (z1 > 9'd62) ? {PW{1'b0}} : poly0[PW-1:0] >> z1;
  wire [PW-1:0] e;
  ref_pipe #(.W(PW), .EN(PIPE)) p_e (.clk(clk), .en(adv), .d(e0), .q(e));
  ref_vdelay #(.N(LE - 1)) v_e (.clk(clk), .rst(rst), .en(adv), .v(v_r), .l(l_r), .vq(e_v), .lq(e_l));

  // Division: floor((2 e 2^o + S) / (2 S)).
  wire [NWX-1:0] num = ({{(NWX-PW){1'b0}}, e} << (OUT_FRAC + 1)) + {{(NWX-SW){1'b0}}, sum};
  wire [SW:0] den = {sum, 1'b0};
  wire [QW-1:0] quo;
  wire [NWX-1:0] rem_unused;
  wire [1:0] side_q;
  ref_udiv #(.NW(NWX), .DW(SW + 1), .QW(QW), .SW(2), .PIPE(PIPE)) u_div (.clk(clk), .en(adv), .n(num), .d(den),
    .side({e_v && (st == S_OUT), e_l}), .q(quo), .r(rem_unused), .side_q(side_q));
  wire [7:0] p_code = (quo > 255) ? 8'd255 : quo[7:0];
  ref_row_out #(.W(8)) u_o (.clk(clk), .rst(rst), .v(side_q[1]), .l(side_q[0]), .d(p_code), .out_ready(out_ready),
    .out_valid(out_valid), .out_last(out_last), .out_d(out_p), .adv(adv), .done(out_done));

  always @(posedge clk) begin
    if (rst) begin
      st <= S_LOAD;
    end else begin
      case (st)
        S_LOAD:
          if (in_valid) begin
            if (in_first || $signed(in_q) > mx) mx <= in_q;
            if (in_end) begin
              sum <= 0;
              st <= S_SUM;
            end
          end
        S_SUM:
          if (e_v) begin
            sum <= sum + {{(SW-PW){1'b0}}, e};
            if (e_l) st <= S_OUT;  // (the buffer rewinds for the out phase)
          end
        default:  // S_OUT
          if (out_done) st <= S_LOAD;
      endcase
    end
  end
  wire unused = &{1'b0, rem_unused, poly0, pbw, zw, n_unused};
endmodule
