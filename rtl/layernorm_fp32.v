/* verilator lint_off DECLFILENAME */
// gqalut reference design (issue 16): FP32 LayerNorm unit, the floating-point baseline of the
// integer LayerNorm unit, built from fp32_add / fp32_mul, fp32_recip_seq / fp32_rsqrt_seq and
// the conversions of fp32_cvt.v (round to nearest even, FTZ).
//
// Interface (one element per cycle per phase, valid/ready; a row ends with in_last / out_last):
//   in:  int8 code q at 2^-IN_FRAC, int8 gamma at 2^-GAMMA_FRAC, int32 beta at 2^-OUT_FRAC
//   out: int8 y at 2^-OUT_FRAC.
// Rows of 1..MAXN elements; the row's (q, gamma, beta) are kept in a buffer. FP32 throughout:
//   load:  x_i = float(q_i) 2^-IN_FRAC;  Sx = fl(.. fl(0 + x_0) ..),  Sxx = fl(.. fl(0 + fl(x_0 x_0)) ..)
//   stats: rn = fp32_recip(float(n));  mean = fl(Sx rn);  m2 = fl(Sxx rn);  var = fl(m2 - fl(mean mean));
//          var = max(var, +0);  r = fp32_rsqrt(fl(var + EPS))     (on the unit's multiplier and adder)
//   out:   y_i = clamp(round_half_away(fl(fl(fl(fl(x_i - mean) r) g_i) + b_i) 2^OUT_FRAC), -128, 127),
//          g_i = float(gamma_i) 2^-GAMMA_FRAC, b_i = float(beta_i) 2^-OUT_FRAC (round to nearest even).
// Phases run one after another, one element per cycle; the next row is accepted when the last
// output has left, so rows of n run back to back every 2n + LAT + 27 cycles (first input to first
// input), LAT = 1 + (PIPE ? 3 : 0); PIPE = 1 registers every FP32 operation of the element
// pipelines. max_n / that interval is the registry's elements per cycle (test_reference_timing).
// out_valid holds until out_ready (the output pipeline stalls meanwhile).
// RESTREAM = 1 (docs/hw_reference_units.md, "re-streaming"): no row buffer; the source sends each
// row twice (identical x; pass 1's gamma and beta are ignored), the load phase takes pass 1 (x
// only: the statistics), the output phase takes pass 2 (x, gamma, beta) from the input in place of
// the buffer read (in_ready high while the output pipeline advances, low after its last beat and
// while the statistics are computed); latencies and arithmetic are unchanged: rows of n run back
// to back every 2n + LAT + 27 cycles with a source that keeps up. Different x in pass 2 gives
// undefined outputs.
`timescale 1ns / 1ps
module layernorm_fp32 #(
  parameter MAXN = 256,
  parameter IN_FRAC = 4,
  parameter GAMMA_FRAC = 6,
  parameter OUT_FRAC = 4,
  parameter [31:0] EPS = 32'h3727c5ac,  // 1e-5f
  parameter PIPE = 1,
  parameter RESTREAM = 0,
  parameter AW = (MAXN <= 2) ? 1 : $clog2(MAXN)
) (
  input  wire        clk,
  input  wire        rst,
  input  wire        in_valid,
  output wire        in_ready,
  input  wire [7:0]  in_q,
  input  wire [7:0]  in_gamma,
  input  wire [31:0] in_beta,
  input  wire        in_last,
  output wire        out_valid,
  input  wire        out_ready,
  output wire [7:0]  out_y,
  output wire        out_last
);
  localparam [2:0] S_LOAD = 3'd0, S_DRAIN = 3'd1, S_RCP = 3'd2, S_STAT = 3'd3, S_RSQ = 3'd4, S_OUT = 3'd5;
  localparam LAT = 1 + (PIPE != 0 ? 3 : 0);  // buffer read to the output register's input
  reg [2:0] st;
  reg [2:0] k;  // step of S_STAT
  reg [31:0] sx, sxx, mean, m2, vr, ve, rs;
  reg r_start, q_start;
  wire adv, out_done;  // the output pipeline advances; the row's last output leaves

  // Shared units.
  wire [31:0] m1a, m1b, m1y, a1a, a1b, a1y, m2y, a2y;
  reg [31:0] m1a_r, m1b_r, a1a_r, a1b_r;
  fp32_mul u_m1 (.a(m1a), .b(m1b), .y(m1y));
  fp32_add u_a1 (.a(a1a), .b(a1b), .y(a1y));

  // Load: x, x*x (mul1), then the two accumulators (add1: Sx, add2: Sxx).
  wire fire = in_valid && (st == S_LOAD);
  wire [31:0] x_in;
  fp32_from_int #(.W(8), .F(IN_FRAC)) u_cin (.q(in_q), .y(x_in));
  wire [31:0] lx, lxx;
  wire lv, ll;
  ref_pipe #(.W(64), .EN(PIPE)) p_l (.clk(clk), .en(1'b1), .d({x_in, m1y}), .q({lx, lxx}));
  ref_vdelay #(.N(PIPE != 0 ? 1 : 0)) v_l (.clk(clk), .rst(rst), .en(1'b1), .v(fire), .l(fire && in_end),
    .vq(lv), .lq(ll));

  // The row's (x, gamma, beta), read back by the output pass (RESTREAM = 1: its second pass).
  wire in_end, in_first_unused;
  wire [AW:0] n;
  wire [47:0] b_r;
  wire v_r, l_r;
  ref_row_source #(.W(48), .MAXN(MAXN), .AW(AW), .RESTREAM(RESTREAM)) u_src (.clk(clk), .rst(rst),
    .valid(in_valid), .d({in_beta, in_gamma, in_q}), .last(in_last), .ready(in_ready), .load(st == S_LOAD),
    .rd(st == S_OUT), .rewind(1'b0), .en(adv), .first(in_first_unused), .pend(in_end), .n(n), .q(b_r), .v(v_r),
    .l(l_r));

  // Output pipeline: read -> d = x - mean (add1) -> u = d r (mul1) -> v = u g (mul2) -> w = v + b (add2).
  wire [31:0] xo, go, bo;
  fp32_from_int #(.W(8), .F(IN_FRAC)) u_cx (.q(b_r[7:0]), .y(xo));
  fp32_from_int #(.W(8), .F(GAMMA_FRAC)) u_cg (.q(b_r[15:8]), .y(go));
  fp32_from_int #(.W(32), .F(OUT_FRAC)) u_cb (.q(b_r[47:16]), .y(bo));
  wire [31:0] d, g1, b1, u, g2, b2, v;
  ref_pipe #(.W(96), .EN(PIPE)) p_d (.clk(clk), .en(adv), .d({a1y, go, bo}), .q({d, g1, b1}));
  ref_pipe #(.W(96), .EN(PIPE)) p_u (.clk(clk), .en(adv), .d({m1y, g1, b1}), .q({u, g2, b2}));
  fp32_mul u_m2 (.a(u), .b(g2), .y(m2y));
  wire [31:0] b3;
  ref_pipe #(.W(64), .EN(PIPE)) p_v (.clk(clk), .en(adv), .d({m2y, b2}), .q({v, b3}));
  fp32_add u_a2 (.a(st == S_OUT ? v : sxx), .b(st == S_OUT ? b3 : lxx), .y(a2y));
  wire [7:0] y_code;
  fp32_to_int #(.OW(8), .S(OUT_FRAC), .LO(-128), .HI(127)) u_out (.x(a2y), .y(y_code));
  wire o_v, o_l;
  ref_vdelay #(.N(LAT - 1)) v_o (.clk(clk), .rst(rst), .en(adv), .v(v_r), .l(l_r), .vq(o_v), .lq(o_l));
  ref_row_out #(.W(8)) u_o (.clk(clk), .rst(rst), .v(o_v), .l(o_l), .d(y_code), .out_ready(out_ready),
    .out_valid(out_valid), .out_last(out_last), .out_d(out_y), .adv(adv), .done(out_done));

  // Newton engines on mul1 / add1.
  wire [31:0] nf, r_ma, r_mb, r_aa, r_ab, r_y, q_ma, q_mb, q_aa, q_ab, q_y;
  wire r_busy, r_done, q_busy, q_done;
  fp32_from_int #(.W(AW + 2), .F(0)) u_cn (.q({1'b0, n}), .y(nf));
  fp32_recip_seq u_rcp (.clk(clk), .rst(rst), .start(r_start), .x(nf), .busy(r_busy), .done(r_done), .y(r_y),
    .mul_a(r_ma), .mul_b(r_mb), .mul_y(m1y), .add_a(r_aa), .add_b(r_ab), .add_y(a1y));
  fp32_rsqrt_seq u_rsq (.clk(clk), .rst(rst), .start(q_start), .x(ve), .busy(q_busy), .done(q_done), .y(q_y),
    .mul_a(q_ma), .mul_b(q_mb), .mul_y(m1y), .add_a(q_aa), .add_b(q_ab), .add_y(a1y));

  // Operand selection of mul1 / add1.
  always @* begin
    m1a_r = x_in; m1b_r = x_in;         // load: x * x
    a1a_r = sx; a1b_r = lx;             // load: Sx + x
    case (st)
      S_RCP: begin m1a_r = r_ma; m1b_r = r_mb; a1a_r = r_aa; a1b_r = r_ab; end
      S_RSQ: begin m1a_r = q_ma; m1b_r = q_mb; a1a_r = q_aa; a1b_r = q_ab; end
      S_STAT: begin
        case (k)
          3'd0: begin m1a_r = sx; m1b_r = rs; end      // mean = Sx rn
          3'd1: begin m1a_r = sxx; m1b_r = rs; end     // m2 = Sxx rn
          3'd2: begin m1a_r = mean; m1b_r = mean; end  // mean^2
          default: ;
        endcase
        a1a_r = (k == 3'd3) ? m2 : vr;                 // var = m2 - mean^2; then var + EPS
        a1b_r = (k == 3'd3) ? {~rs[31], rs[30:0]} : EPS;
      end
      S_OUT: begin m1a_r = d; m1b_r = rs; a1a_r = xo; a1b_r = {~mean[31], mean[30:0]}; end
      default: ;
    endcase
  end
  assign m1a = m1a_r;
  assign m1b = m1b_r;
  assign a1a = a1a_r;
  assign a1b = a1b_r;

  always @(posedge clk) begin
    r_start <= 1'b0;
    q_start <= 1'b0;
    if (rst) begin
      st <= S_LOAD;
      k <= 0;
      sx <= 32'h0;
      sxx <= 32'h0;
    end else begin
      if (lv) begin
        sx <= a1y;
        sxx <= a2y;
      end
      case (st)
        S_LOAD:
          if (fire && in_end) st <= S_DRAIN;
        S_DRAIN:  // the last element reaches the accumulators
          if (ll || PIPE == 0) begin
            st <= S_RCP;
            r_start <= 1'b1;
          end
        S_RCP:
          if (r_done) begin
            rs <= r_y;
            k <= 0;
            st <= S_STAT;
          end
        S_STAT: begin
          k <= k + 1'b1;
          case (k)
            3'd0: mean <= m1y;
            3'd1: m2 <= m1y;
            3'd2: rs <= m1y;                                  // mean^2 (rs is free until rsqrt)
            3'd3: vr <= a1y[31] ? 32'h00000000 : a1y;         // clamp a negative variance to +0
            default: begin                                    // a1y = var + EPS
              ve <= a1y;
              q_start <= 1'b1;
              st <= S_RSQ;
            end
          endcase
        end
        S_RSQ:
          if (q_done) begin
            rs <= q_y;
            st <= S_OUT;
          end
        default:  // S_OUT
          if (out_done) begin
            st <= S_LOAD;
            sx <= 32'h0;
            sxx <= 32'h0;
          end
      endcase
    end
  end
  wire unused = &{1'b0, r_busy, q_busy, in_first_unused};
endmodule

// layernorm_fp32_lanes: the FP32 LayerNorm unit at LANES (2..16) elements per beat
// (docs/hw_reference_units.md, "Lanes"). Ports as the integer units' (docs/hw_units.md,
// "Streaming interface"): in_q / in_gamma [8L-1:0], in_beta [32L-1:0] (lane j: the row's elements
// in lane order), in_keep (on the in_last beat lanes 0..in_keep-1 hold elements, 1..L), out_y
// [8L-1:0], out_keep (lanes beyond it read 0). The ceil(MAXN/L)-th beat ends a row by itself.
// L copies of the element pipelines (x x, the accumulators' adders; x - mean, the two multiplies,
// + b, to_int), lane 0's multiplier and first adder shared with the statistics and the Newton
// engines as in layernorm_fp32:
//   load:  per lane j: Sx_j = fl(..fl(0 + x_j) + x_{j+L} ..), Sxx_j likewise with fl(x x) (a lane
//          without an element in the last beat adds nothing); then, in L - 1 cycles on lane 0's
//          adders, Sx = fl(..fl(Sx_0 + Sx_1).. + Sx_{L-1}) and Sxx likewise (lane order); n counted
//          in elements
//   stats, out: as layernorm_fp32.
// Rows of n back to back every 2 ceil(n/L) + LAT + 27 + (L - 1) cycles (row_interval_cycles).
// RESTREAM = 1: no row buffer, each row sent twice (as layernorm_fp32).
module layernorm_fp32_lanes #(
  parameter MAXN = 256,
  parameter IN_FRAC = 4,
  parameter GAMMA_FRAC = 6,
  parameter OUT_FRAC = 4,
  parameter [31:0] EPS = 32'h3727c5ac,  // 1e-5f
  parameter PIPE = 1,
  parameter RESTREAM = 0,
  parameter LANES = 4,
  parameter KB = $clog2(LANES + 1),
  parameter MAXB = (MAXN + LANES - 1) / LANES,  // beats of a row (the generator sets it: a plain number)
  parameter AW = (MAXB <= 2) ? 1 : $clog2(MAXB),
  parameter NW = $clog2(MAXN + LANES + 1) + 1  // bits of the row's element count (a spare one)
) (
  input  wire                clk,
  input  wire                rst,
  input  wire                in_valid,
  output wire                in_ready,
  input  wire [8*LANES-1:0]  in_q,
  input  wire [8*LANES-1:0]  in_gamma,
  input  wire [32*LANES-1:0] in_beta,
  input  wire                in_last,
  input  wire [KB-1:0]       in_keep,
  output wire                out_valid,
  input  wire                out_ready,
  output wire [8*LANES-1:0]  out_y,
  output wire                out_last,
  output wire [KB-1:0]       out_keep
);
  localparam L = LANES;
  localparam [2:0] S_LOAD = 3'd0, S_DRAIN = 3'd1, S_RCP = 3'd2, S_STAT = 3'd3, S_RSQ = 3'd4, S_OUT = 3'd5,
                   S_CMB = 3'd6;
  localparam LAT = 1 + (PIPE != 0 ? 3 : 0);  // buffer read to the output register's input
  localparam W = 48 * L + KB;                // a buffered beat: {keep, beta, gamma, q}
  reg [2:0] st;
  reg [2:0] k;  // step of S_STAT
  reg [4:0] c;  // step of S_CMB
  reg [31:0] mean, m2, vr, ve, rs;
  reg [32*L-1:0] sxv, sxxv;
  reg [NW-1:0] nel;
  reg r_start, q_start;
  wire adv, out_done;
  wire [31:0] sx = sxv[31:0], sxx = sxxv[31:0];

  wire fire = in_valid && (st == S_LOAD);
  wire [KB-1:0] in_kc = in_last ? in_keep : L[KB-1:0];
  wire in_end, in_first_unused;
  wire [AW:0] n_unused;
  wire [W-1:0] b_r;
  wire v_r, l_r;
  ref_row_source #(.W(W), .MAXN(MAXB), .AW(AW), .RESTREAM(RESTREAM)) u_src (.clk(clk), .rst(rst),
    .valid(in_valid), .d({in_kc, in_beta, in_gamma, in_q}), .last(in_last), .ready(in_ready), .load(st == S_LOAD),
    .rd(st == S_OUT), .rewind(1'b0), .en(adv), .first(in_first_unused), .pend(in_end), .n(n_unused), .q(b_r),
    .v(v_r), .l(l_r));

  // Load pipeline: x, x x per lane, then the accumulators.
  wire [32*L-1:0] xs, xxs, lx, lxx;
  wire [KB-1:0] lk;
  wire lv, ll;
  ref_pipe #(.W(32 * L + KB), .EN(PIPE)) p_l (.clk(clk), .en(1'b1), .d({in_kc, xs}), .q({lk, lx}));
  ref_pipe #(.W(32 * L), .EN(PIPE)) p_ll (.clk(clk), .en(1'b1), .d(xxs), .q(lxx));
  ref_vdelay #(.N(PIPE != 0 ? 1 : 0)) v_l (.clk(clk), .rst(rst), .en(1'b1), .v(fire), .l(fire && in_end),
    .vq(lv), .lq(ll));

  // The output pass's keep, LAT - 1 stages after the read register.
  wire [KB-1:0] o_k;
  wire o_v, o_l;
  ref_vdelay #(.N(LAT - 1)) v_o (.clk(clk), .rst(rst), .en(adv), .v(v_r), .l(l_r), .vq(o_v), .lq(o_l));
  generate
    if (LAT > 1) begin : kd
      reg [KB-1:0] ks [0:LAT-2];
      integer i;
      always @(posedge clk)
        if (adv) begin
          ks[0] <= b_r[W-1:48*L];
          for (i = 1; i < LAT - 1; i = i + 1) ks[i] <= ks[i-1];
        end
      assign o_k = ks[LAT-2];
    end else begin : kn
      assign o_k = b_r[W-1:48*L];
    end
  endgenerate

  // Newton engines on lane 0's mul1 / add1.
  wire [31:0] nf, r_ma, r_mb, r_aa, r_ab, r_y, q_ma, q_mb, q_aa, q_ab, q_y, m1y0, a1y0;
  wire r_busy, r_done, q_busy, q_done;
  fp32_from_int #(.W(NW + 1), .F(0)) u_cn (.q({1'b0, nel}), .y(nf));
  fp32_recip_seq u_rcp (.clk(clk), .rst(rst), .start(r_start), .x(nf), .busy(r_busy), .done(r_done), .y(r_y),
    .mul_a(r_ma), .mul_b(r_mb), .mul_y(m1y0), .add_a(r_aa), .add_b(r_ab), .add_y(a1y0));
  fp32_rsqrt_seq u_rsq (.clk(clk), .rst(rst), .start(q_start), .x(ve), .busy(q_busy), .done(q_done), .y(q_y),
    .mul_a(q_ma), .mul_b(q_mb), .mul_y(m1y0), .add_a(q_aa), .add_b(q_ab), .add_y(a1y0));

  reg [31:0] sx_c, sxx_c;  // the combine step's lane sums
  integer i1;
  always @* begin
    sx_c = sxv[31:0];
    sxx_c = sxxv[31:0];
    for (i1 = 1; i1 < L; i1 = i1 + 1)
      if (c == i1[4:0]) begin
        sx_c = sxv[32*i1+:32];
        sxx_c = sxxv[32*i1+:32];
      end
  end

  wire [32*L-1:0] a1ys, a2ys;
  wire [8*L-1:0] yc;
  genvar j;
  generate
    for (j = 0; j < L; j = j + 1) begin : ln
      wire [31:0] x_in, m1a, m1b, m1y, a1a, a1b, a1y, a2a, a2b, a2y, m2y;
      fp32_from_int #(.W(8), .F(IN_FRAC)) u_cin (.q(in_q[8*j+7:8*j]), .y(x_in));
      assign xs[32*j+31:32*j] = x_in;
      assign xxs[32*j+31:32*j] = m1y;
      // Output pipeline: read -> d = x - mean (add1) -> u = d r (mul1) -> v = u g (mul2) -> w = v + b (add2).
      wire [31:0] xo, go, bo, d, g1, b1, u, g2, b2, v, b3;
      fp32_from_int #(.W(8), .F(IN_FRAC)) u_cx (.q(b_r[8*j+7:8*j]), .y(xo));
      fp32_from_int #(.W(8), .F(GAMMA_FRAC)) u_cg (.q(b_r[8*L+8*j+7:8*L+8*j]), .y(go));
      fp32_from_int #(.W(32), .F(OUT_FRAC)) u_cb (.q(b_r[16*L+32*j+31:16*L+32*j]), .y(bo));
      ref_pipe #(.W(96), .EN(PIPE)) p_d (.clk(clk), .en(adv), .d({a1y, go, bo}), .q({d, g1, b1}));
      ref_pipe #(.W(96), .EN(PIPE)) p_u (.clk(clk), .en(adv), .d({m1y, g1, b1}), .q({u, g2, b2}));
      fp32_mul u_m2 (.a(u), .b(g2), .y(m2y));
      ref_pipe #(.W(64), .EN(PIPE)) p_v (.clk(clk), .en(adv), .d({m2y, b2}), .q({v, b3}));
      fp32_mul u_m1 (.a(m1a), .b(m1b), .y(m1y));
      fp32_add u_a1 (.a(a1a), .b(a1b), .y(a1y));
      fp32_add u_a2 (.a(a2a), .b(a2b), .y(a2y));
      assign a1ys[32*j+31:32*j] = a1y;
      assign a2ys[32*j+31:32*j] = a2y;
      wire [7:0] y_code;
      fp32_to_int #(.OW(8), .S(OUT_FRAC), .LO(-128), .HI(127)) u_out (.x(a2y), .y(y_code));
      assign yc[8*j+7:8*j] = (j < o_k) ? y_code : 8'd0;
      assign a2a = (st == S_OUT) ? v : (j == 0 && st == S_CMB) ? sxx : sxxv[32*j+31:32*j];
      assign a2b = (st == S_OUT) ? b3 : (j == 0 && st == S_CMB) ? sxx_c : lxx[32*j+31:32*j];
      if (j == 0) begin : s
        // Operand selection of lane 0's mul1 / add1 (shared).
        reg [31:0] m1a_r, m1b_r, a1a_r, a1b_r;
        always @* begin
          m1a_r = x_in; m1b_r = x_in;         // load: x * x
          a1a_r = sx; a1b_r = lx[31:0];       // load: Sx_0 + x
          case (st)
            S_CMB: begin a1a_r = sx; a1b_r = sx_c; end
            S_RCP: begin m1a_r = r_ma; m1b_r = r_mb; a1a_r = r_aa; a1b_r = r_ab; end
            S_RSQ: begin m1a_r = q_ma; m1b_r = q_mb; a1a_r = q_aa; a1b_r = q_ab; end
            S_STAT: begin
              case (k)
                3'd0: begin m1a_r = sx; m1b_r = rs; end      // mean = Sx rn
                3'd1: begin m1a_r = sxx; m1b_r = rs; end     // m2 = Sxx rn
                3'd2: begin m1a_r = mean; m1b_r = mean; end  // mean^2
                default: ;
              endcase
              a1a_r = (k == 3'd3) ? m2 : vr;                 // var = m2 - mean^2; then var + EPS
              a1b_r = (k == 3'd3) ? {~rs[31], rs[30:0]} : EPS;
            end
            S_OUT: begin m1a_r = d; m1b_r = rs; a1a_r = xo; a1b_r = {~mean[31], mean[30:0]}; end
            default: ;
          endcase
        end
        assign m1a = m1a_r;
        assign m1b = m1b_r;
        assign a1a = a1a_r;
        assign a1b = a1b_r;
        assign m1y0 = m1y;
        assign a1y0 = a1y;
      end else begin : o
        assign m1a = (st == S_OUT) ? d : x_in;
        assign m1b = (st == S_OUT) ? rs : x_in;
        assign a1a = (st == S_OUT) ? xo : sxv[32*j+31:32*j];
        assign a1b = (st == S_OUT) ? {~mean[31], mean[30:0]} : lx[32*j+31:32*j];
      end
    end
  endgenerate
  wire [8*L+KB-1:0] o_d;
  ref_row_out #(.W(8 * L + KB)) u_o (.clk(clk), .rst(rst), .v(o_v), .l(o_l), .d({o_k, yc}), .out_ready(out_ready),
    .out_valid(out_valid), .out_last(out_last), .out_d(o_d), .adv(adv), .done(out_done));
  assign out_y = o_d[8*L-1:0];
  assign out_keep = o_d[8*L+KB-1:8*L];

  integer i2;
  always @(posedge clk) begin
    r_start <= 1'b0;
    q_start <= 1'b0;
    if (rst) begin
      st <= S_LOAD;
      k <= 0;
      c <= 0;
      sxv <= 0;
      sxxv <= 0;
      nel <= 0;
    end else begin
      if (lv)
        for (i2 = 0; i2 < L; i2 = i2 + 1)
          if (i2 < lk) begin
            sxv[32*i2+:32] <= a1ys[32*i2+:32];
            sxxv[32*i2+:32] <= a2ys[32*i2+:32];
          end
      case (st)
        S_LOAD:
          if (fire) begin
            nel <= nel + {{(NW - KB){1'b0}}, in_kc};
            if (in_end) st <= S_DRAIN;
          end
        S_DRAIN:  // the last beat reaches the accumulators
          if (ll || PIPE == 0) begin
            st <= S_CMB;
            c <= 5'd1;
          end
        S_CMB: begin  // Sx_0 += Sx_c, Sxx_0 += Sxx_c, c = 1 .. L - 1
          sxv[31:0] <= a1y0;
          sxxv[31:0] <= a2ys[31:0];
          c <= c + 5'd1;
          if (c == L - 1) begin
            st <= S_RCP;
            r_start <= 1'b1;
          end
        end
        S_RCP:
          if (r_done) begin
            rs <= r_y;
            k <= 0;
            st <= S_STAT;
          end
        S_STAT: begin
          k <= k + 1'b1;
          case (k)
            3'd0: mean <= m1y0;
            3'd1: m2 <= m1y0;
            3'd2: rs <= m1y0;                                 // mean^2 (rs is free until rsqrt)
            3'd3: vr <= a1y0[31] ? 32'h00000000 : a1y0;       // clamp a negative variance to +0
            default: begin                                    // a1y = var + EPS
              ve <= a1y0;
              q_start <= 1'b1;
              st <= S_RSQ;
            end
          endcase
        end
        S_RSQ:
          if (q_done) begin
            rs <= q_y;
            st <= S_OUT;
          end
        default:  // S_OUT
          if (out_done) begin
            st <= S_LOAD;
            sxv <= 0;
            sxxv <= 0;
            nel <= 0;
          end
      endcase
    end
  end
  wire unused = &{1'b0, r_busy, q_busy, in_first_unused, n_unused};
endmodule
