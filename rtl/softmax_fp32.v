// gqalut reference design (issue 16): FP32 softmax unit, the floating-point baseline of the
// integer softmax unit, built from fp32_add / fp32_mul / fp32_ge, fp32_exp, fp32_recip_seq and
// the conversions of fp32_cvt.v (round to nearest even, FTZ).
//
// Interface (one element per cycle per phase, valid/ready; a row ends with in_last / out_last):
//   in:  int8 logit codes q at 2^-IN_FRAC;  out: uint8 probabilities at 2^-OUT_FRAC.
// Rows of 1..MAXN elements (the MAXN-th element ends a row). The row's codes are kept in an
// int8 buffer (as the integer unit keeps them); the arithmetic is FP32 throughout:
//   load:  x_i = float(q_i) 2^-IN_FRAC;  M = max_i x_i            (fp32_ge, first wins ties)
//   sum:   e_i = fp32_exp(fl(x_i - M));  S = fl(..fl(fl(0 + e_0) + e_1).. + e_{n-1})  (in order)
//   recip: R = fp32_recip(S)        (Newton, on the unit's multiplier and adder)
//   out:   p_i = clamp(round_half_away(fl(e_i R) 2^OUT_FRAC), 0, 255)   (e_i recomputed)
// Phases run one after another, one element per cycle each; the next row is accepted when the
// last output has left, so rows of n run back to back every 3n + 2 LAT + 10 cycles (first input
// to first input), LAT = 1 + (PIPE ? 13 : 0) (buffer read, x - M, fp32_exp): max_n / that
// interval elements per cycle (the registry's figure; tests/hw/test_reference_timing.cpp). PIPE = 1 registers every FP32
// operation of the element pipeline (one operation per stage); PIPE = 0 leaves it
// combinational between the buffer read and the accumulator / output registers.
// out_valid holds until out_ready (the element pipeline stalls meanwhile).
// RESTREAM = 1 (docs/hw_reference_units.md, "re-streaming"): no row buffer; the source sends each
// row three times (identical), the load phase takes pass 1 (in_ready high), the sum and out phases
// take passes 2 and 3 from the input in place of the buffer read (in_ready high while the element
// pipeline advances, low after the pass's last beat until the next phase, and during the
// reciprocal), so every latency and the arithmetic are unchanged: rows of n run back to back every
// 3n + 2 LAT + 10 cycles with a source that keeps up (n counted once, not once per pass).
// Different data in a later pass gives undefined outputs.
`timescale 1ns / 1ps
module softmax_fp32 #(
  parameter MAXN = 256,
  parameter IN_FRAC = 4,
  parameter OUT_FRAC = 8,
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
  localparam [1:0] S_LOAD = 2'd0, S_SUM = 2'd1, S_RCP = 2'd2, S_OUT = 2'd3;
  localparam LAT = 1 + (PIPE != 0 ? 13 : 0);  // buffer read to e_i
  reg [1:0] st;
  reg [31:0] mx, acc, rcp;
  reg rstart;
  wire r_busy, r_done;  // the Newton reciprocal (below)
  wire adv, out_done;  // the element pipeline advances; the row's last output leaves

  // Load: buffer the codes (RESTREAM = 0), running maximum; the sum and out phases read them back
  // (RESTREAM = 1: take them from the second and third passes of the row).
  wire [31:0] x_in;
  fp32_from_int #(.W(8), .F(IN_FRAC)) u_cin (.q(in_q), .y(x_in));
  wire in_ge;
  fp32_ge u_ge (.a(mx), .b(x_in), .ge(in_ge));
  wire in_first, in_end;
  wire [AW:0] n_unused;
  wire [7:0] q_r;
  wire v_r, l_r;
  ref_row_source #(.W(8), .MAXN(MAXN), .AW(AW), .RESTREAM(RESTREAM)) u_src (.clk(clk), .rst(rst), .valid(in_valid),
    .d(in_q), .last(in_last), .ready(in_ready), .load(st == S_LOAD), .rd(st == S_SUM || st == S_OUT),
    .rewind(st == S_RCP && r_done), .en(adv), .first(in_first), .pend(in_end), .n(n_unused), .q(q_r), .v(v_r),
    .l(l_r));

  // Element pipeline: buffer read, x - M, exp.
  wire [31:0] x_r, d0, d, e;
  fp32_from_int #(.W(8), .F(IN_FRAC)) u_cx (.q(q_r), .y(x_r));
  fp32_add u_d (.a(x_r), .b({~mx[31], mx[30:0]}), .y(d0));
  ref_pipe #(.W(32), .EN(PIPE)) p_d (.clk(clk), .en(adv), .d(d0), .q(d));
  fp32_exp #(.PIPE(PIPE)) u_exp (.clk(clk), .en(adv), .d(d), .y(e));
  // valid / last of the element at the exp output (LAT - 1 stages after the read register)
  wire e_v, e_l;
  generate
    if (LAT > 1) begin : vdelay
      reg [LAT-2:0] vs, ls;
      always @(posedge clk) begin
        if (rst) vs <= 0;
        else if (adv) vs <= {vs[LAT-3 >= 0 ? LAT-3 : 0:0], v_r} ;
        if (adv) ls <= {ls[LAT-3 >= 0 ? LAT-3 : 0:0], l_r};
      end
      assign e_v = vs[LAT-2];
      assign e_l = ls[LAT-2];
    end else begin : vnone
      assign e_v = v_r;
      assign e_l = l_r;
    end
  endgenerate

  // The shared multiplier and adder: accumulate (sum), Newton (recip), scale (out).
  wire [31:0] ma, mb, my, aa, ab, ay, r_ma, r_mb, r_aa, r_ab, r_y;
  fp32_recip_seq u_rcp (.clk(clk), .rst(rst), .start(rstart), .x(acc), .busy(r_busy), .done(r_done), .y(r_y),
    .mul_a(r_ma), .mul_b(r_mb), .mul_y(my), .add_a(r_aa), .add_b(r_ab), .add_y(ay));
  assign ma = (st == S_RCP) ? r_ma : e;
  assign mb = (st == S_RCP) ? r_mb : rcp;
  assign aa = (st == S_RCP) ? r_aa : acc;
  assign ab = (st == S_RCP) ? r_ab : e;
  fp32_mul u_mul (.a(ma), .b(mb), .y(my));
  fp32_add u_add (.a(aa), .b(ab), .y(ay));
  wire [7:0] p_code;
  wire p_unused;
  fp32_to_int #(.OW(9), .S(OUT_FRAC), .LO(0), .HI(255)) u_out (.x(my), .y({p_unused, p_code}));
  ref_row_out #(.W(8)) u_o (.clk(clk), .rst(rst), .v(e_v && (st == S_OUT)), .l(e_l && (st == S_OUT)), .d(p_code),
    .out_ready(out_ready), .out_valid(out_valid), .out_last(out_last), .out_d(out_p), .adv(adv), .done(out_done));

  always @(posedge clk) begin
    rstart <= 1'b0;
    if (rst) begin
      st <= S_LOAD;
    end else begin
      case (st)
        S_LOAD:
          if (in_valid) begin
            if (in_first || !in_ge) mx <= x_in;
            if (in_end) begin
              acc <= 32'h00000000;
              st <= S_SUM;
            end
          end
        S_SUM:
          if (e_v) begin
            acc <= ay;
            if (e_l) begin
              st <= S_RCP;
              rstart <= 1'b1;
            end
          end
        S_RCP:
          if (r_done) begin  // (the buffer rewinds for the out phase)
            rcp <= r_y;
            st <= S_OUT;
          end
        default:  // S_OUT
          if (out_done) st <= S_LOAD;
      endcase
    end
  end
  wire unused = &{1'b0, r_busy, p_unused, n_unused};
endmodule
