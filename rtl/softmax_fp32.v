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

// softmax_fp32_lanes: the FP32 softmax unit at LANES (2..16) elements per beat, the throughput of
// the integer unit at L lanes (docs/hw_reference_units.md, "lanes"). Ports as the integer units'
// (docs/hw_units.md, "Streaming interface"): in_q[8L-1:0] (lane j = bits 8j+7..8j, the row's
// elements in lane order), in_keep (on the in_last beat lanes 0..in_keep-1 hold elements, 1..L;
// every other beat is full), out_p[8L-1:0], out_keep (lanes beyond it read 0). The ceil(MAXN/L)-th
// beat ends a row by itself. The row buffer keeps beats ({keep, codes}); L copies of the element
// pipeline (from_int, x - M, fp32_exp, the output multiply, to_int):
//   load:  M = max over the beat's valid lanes, in lane order after the running maximum (the
//          elements in row order, first wins ties: the 1-lane unit's M)
//   sum:   one accumulator per lane: S_j = fl(..fl(0 + e_j) + e_{j+L}) ..) (a lane without an
//          element in the last beat adds nothing); then, in L - 1 cycles on lane 0's adder,
//          S = fl(..fl(fl(S_0 + S_1) + S_2).. + S_{L-1})
//   recip: R = fp32_recip(S) on lane 0's multiplier and adder;  out: p_i as the 1-lane unit.
// Rows of n back to back every 3 ceil(n/L) + 2 LAT + 10 + (L - 1) cycles (row_interval_cycles).
// RESTREAM = 1: no row buffer, each row sent three times (as softmax_fp32).
/* verilator lint_off DECLFILENAME */
module softmax_fp32_lanes #(
  parameter MAXN = 256,
  parameter IN_FRAC = 4,
  parameter OUT_FRAC = 8,
  parameter PIPE = 1,
  parameter RESTREAM = 0,
  parameter LANES = 4,
  parameter KB = $clog2(LANES + 1),
  parameter MAXB = (MAXN + LANES - 1) / LANES,  // beats of a row (the generator sets it: a plain number)
  parameter AW = (MAXB <= 2) ? 1 : $clog2(MAXB)
) (
  input  wire               clk,
  input  wire               rst,
  input  wire               in_valid,
  output wire               in_ready,
  input  wire [8*LANES-1:0] in_q,
  input  wire               in_last,
  input  wire [KB-1:0]      in_keep,
  output wire               out_valid,
  input  wire               out_ready,
  output wire [8*LANES-1:0] out_p,
  output wire               out_last,
  output wire [KB-1:0]      out_keep
);
  localparam L = LANES;
  localparam [2:0] S_LOAD = 3'd0, S_SUM = 3'd1, S_CMB = 3'd2, S_RCP = 3'd3, S_OUT = 3'd4;
  localparam LAT = 1 + (PIPE != 0 ? 13 : 0);  // buffer read to e_i
  localparam W = 8 * L + KB;                  // a buffered beat: {keep, codes}
  reg [2:0] st;
  reg [31:0] mx, rcp;
  reg [32*L-1:0] acc;
  reg [4:0] k;  // the combine step
  reg rstart;
  wire r_busy, r_done;
  wire adv, out_done;

  // Load: the running maximum over the beat's valid lanes, in lane order.
  wire [KB-1:0] in_kc = in_last ? in_keep : L[KB-1:0];
  wire in_first, in_end;
  wire [AW:0] n_unused;
  wire [W-1:0] b_r;
  wire v_r, l_r;
  ref_row_source #(.W(W), .MAXN(MAXB), .AW(AW), .RESTREAM(RESTREAM)) u_src (.clk(clk), .rst(rst), .valid(in_valid),
    .d({in_kc, in_q}), .last(in_last), .ready(in_ready), .load(st == S_LOAD), .rd(st == S_SUM || st == S_OUT),
    .rewind(st == S_RCP && r_done), .en(adv), .first(in_first), .pend(in_end), .n(n_unused), .q(b_r), .v(v_r),
    .l(l_r));
  genvar j;
  generate
    for (j = 0; j < L; j = j + 1) begin : ld
      wire [31:0] x_in, prev, m;  // m: the maximum after lanes 0..j
      wire ge;
      fp32_from_int #(.W(8), .F(IN_FRAC)) u_cin (.q(in_q[8*j+7:8*j]), .y(x_in));
      if (j == 0) begin : f
        assign prev = mx;
        assign m = (in_first || !ge) ? x_in : prev;
      end else begin : o
        assign prev = ld[j-1].m;
        assign m = (j < in_kc && !ge) ? x_in : prev;
      end
      fp32_ge u_ge (.a(prev), .b(x_in), .ge(ge));
    end
  endgenerate

  // Element pipelines: x - M, exp (lane j); valid / last / keep of the beat at the exp output.
  wire e_v, e_l;
  wire [KB-1:0] e_k;
  ref_vdelay #(.N(LAT - 1)) u_vd (.clk(clk), .rst(rst), .en(adv), .v(v_r), .l(l_r), .vq(e_v), .lq(e_l));
  generate
    if (LAT > 1) begin : kd
      reg [KB-1:0] ks [0:LAT-2];
      integer i;
      always @(posedge clk)
        if (adv) begin
          ks[0] <= b_r[W-1:8*L];
          for (i = 1; i < LAT - 1; i = i + 1) ks[i] <= ks[i-1];
        end
      assign e_k = ks[LAT-2];
    end else begin : kn
      assign e_k = b_r[W-1:8*L];
    end
  endgenerate

  // Per lane: the accumulator's adder and the output multiplier; lane 0's are shared with the
  // combine steps and the Newton reciprocal.
  wire [31:0] r_ma, r_mb, r_aa, r_ab, r_y, my0, ay0;
  fp32_recip_seq u_rcp (.clk(clk), .rst(rst), .start(rstart), .x(acc[31:0]), .busy(r_busy), .done(r_done), .y(r_y),
    .mul_a(r_ma), .mul_b(r_mb), .mul_y(my0), .add_a(r_aa), .add_b(r_ab), .add_y(ay0));
  wire [32*L-1:0] ays;
  wire [8*L-1:0] pc;
  reg [31:0] acc_k;  // the combine step's lane sum
  integer i1;
  always @* begin
    acc_k = acc[31:0];
    for (i1 = 1; i1 < L; i1 = i1 + 1)
      if (k == i1[4:0]) acc_k = acc[32*i1+:32];
  end
  generate
    for (j = 0; j < L; j = j + 1) begin : ln
      wire [31:0] x_r, d0, d, e, ma, mb, aa, ab, my, ay;
      fp32_from_int #(.W(8), .F(IN_FRAC)) u_cx (.q(b_r[8*j+7:8*j]), .y(x_r));
      fp32_add u_d (.a(x_r), .b({~mx[31], mx[30:0]}), .y(d0));
      ref_pipe #(.W(32), .EN(PIPE)) p_d (.clk(clk), .en(adv), .d(d0), .q(d));
      fp32_exp #(.PIPE(PIPE)) u_exp (.clk(clk), .en(adv), .d(d), .y(e));
      if (j == 0) begin : s
        assign ma = (st == S_RCP) ? r_ma : e;
        assign mb = (st == S_RCP) ? r_mb : rcp;
        assign aa = (st == S_RCP) ? r_aa : acc[31:0];
        assign ab = (st == S_RCP) ? r_ab : (st == S_CMB) ? acc_k : e;
        assign my0 = my;
        assign ay0 = ay;
      end else begin : o
        assign ma = e;
        assign mb = rcp;
        assign aa = acc[32*j+31:32*j];
        assign ab = e;
      end
      fp32_mul u_mul (.a(ma), .b(mb), .y(my));
      fp32_add u_add (.a(aa), .b(ab), .y(ay));
      assign ays[32*j+31:32*j] = ay;
      wire [7:0] p_code;
      wire p_unused;
      fp32_to_int #(.OW(9), .S(OUT_FRAC), .LO(0), .HI(255)) u_out (.x(my), .y({p_unused, p_code}));
      assign pc[8*j+7:8*j] = (j < e_k) ? p_code : 8'd0;
      wire unused = &{1'b0, p_unused};
    end
  endgenerate
  wire [W-1:0] o_d;
  ref_row_out #(.W(W)) u_o (.clk(clk), .rst(rst), .v(e_v && (st == S_OUT)), .l(e_l && (st == S_OUT)),
    .d({e_k, pc}), .out_ready(out_ready), .out_valid(out_valid), .out_last(out_last), .out_d(o_d), .adv(adv),
    .done(out_done));
  assign out_p = o_d[8*L-1:0];
  assign out_keep = o_d[W-1:8*L];

  integer i2;
  always @(posedge clk) begin
    rstart <= 1'b0;
    if (rst) begin
      st <= S_LOAD;
    end else begin
      case (st)
        S_LOAD:
          if (in_valid) begin
            mx <= ld[L-1].m;
            if (in_end) begin
              acc <= 0;
              st <= S_SUM;
            end
          end
        S_SUM:
          if (e_v) begin
            for (i2 = 0; i2 < L; i2 = i2 + 1)
              if (i2 < e_k) acc[32*i2+:32] <= ays[32*i2+:32];
            if (e_l) begin
              st <= S_CMB;
              k <= 5'd1;
            end
          end
        S_CMB: begin
          acc[31:0] <= ay0;
          k <= k + 5'd1;
          if (k == L - 1) begin
            st <= S_RCP;
            rstart <= 1'b1;
          end
        end
        S_RCP:
          if (r_done) begin
            rcp <= r_y;
            st <= S_OUT;
          end
        default:  // S_OUT
          if (out_done) st <= S_LOAD;
      endcase
    end
  end
  wire unused = &{1'b0, r_busy, n_unused};
endmodule
