/* verilator lint_off DECLFILENAME */
// gqalut reference design (issue 16): I-BERT-style integer LayerNorm unit (Kim et al., "I-BERT:
// Integer-only BERT Quantization", ICML 2021, section 3: integer mean and variance, the standard
// deviation by an integer square root, one integer division per element), written from the
// paper's description; its testbenches draw the expected values from gqalut::ibert
// (include/gqalut/ibert.hpp): V = n Sxx - Sx^2 + eps_v, sigma = floor(sqrt(V)),
// z = round(D 2^14 / sigma), y = sat8(round_half_away(z gamma 2^-SH) + beta).
// Same interface as layernorm_fp32: int8 q at 2^-IN_FRAC, int8 gamma at 2^-GAMMA_FRAC, int32 beta
// and int8 y at 2^-OUT_FRAC; valid/ready, rows of 1..MAXN ending with in_last / out_last.
//   load:  Sx = sum q, Sxx = sum q^2 (exact integers)
//   stats: V = n Sxx - Sx^2 + eps_v, eps_v = (n^2 EPS_M + 2^(EPS_F-1)) >> EPS_F (the generator
//          proves it equals gqalut::ibert's round(eps n^2 4^IN_FRAC) for every n <= MAXN), on one
//          shared multiplier in 4 cycles; sigma = floor(sqrt(V)) by the digit-by-digit integer
//          square root (VW/2 cycles; the same floor(sqrt) as I-BERT's Newton iteration, without
//          its per-step division)
//   out:   D = n q - Sx;  z = floor((D 2^15 + sigma) / (2 sigma)) (0 if sigma = 0): a restoring
//          divider of QW quotient bits (|z| <= 2^15 sqrt(n) + 1);  t = z gamma;
//          w = round_half_away(t 2^-SH) (t 2^-SH when SH <= 0), SH = 14 + GAMMA_FRAC - OUT_FRAC;
//          y = sat8(w + beta)
// PIPE = 1 registers the divider's every quotient bit (and its operands); PIPE = 0 is
// combinational. The next row is accepted when the last output has left: rows of n run back to
// back every 2n + VW/2 + 6 + (PIPE ? QW + 1 : 0) cycles (first input to first input; the registry's
// elements per cycle: max_n / that; test_reference_timing).
// RESTREAM = 1 (docs/hw_reference_units.md, "re-streaming"): no row buffer; the source sends each
// row twice (identical q; pass 1's gamma and beta are ignored); pass 2 is taken from the input in
// place of the buffer read (in_ready high while the output pipeline advances, low after its last
// beat and during the statistics and the square root); latencies, arithmetic and the interval are
// unchanged (source keeping up).
`timescale 1ns / 1ps
module layernorm_ibert #(
  parameter MAXN = 256,
  parameter SH = 16,
  parameter [63:0] EPS_M = 0,
  parameter EPS_F = 1,
  parameter EPW = 1,     // bits of EPS_M
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
  localparam [1:0] S_LOAD = 2'd0, S_STAT = 2'd1, S_SQRT = 2'd2, S_OUT = 2'd3;
  localparam XW = AW + 10;                       // Sx, D (signed)
  localparam QQW = AW + 16;                      // Sxx (unsigned)
  localparam VW = 2 * AW + 16;                   // V (even)
  localparam HW = VW / 2;                        // sigma
  localparam MA = (QQW > 2 * AW + 2) ? QQW : 2 * AW + 2;
  localparam MB = (EPW > AW + 10) ? EPW : AW + 10;
  localparam QW = 17 + (AW + 1) / 2;             // quotient bits of z
  localparam NNW = AW + 26;                      // |D 2^15 + sigma|
  localparam TW = QW + 10 + ((SH < 0) ? -SH : 0); // t and w
  localparam YW = (TW > 33) ? TW + 1 : 34;       // w + beta
  localparam [MB-1:0] EPSW = EPS_M[MB-1:0];
  reg [1:0] st;
  reg [2:0] k;
  reg signed [XW-1:0] sx;
  reg [QQW-1:0] sxx;
  reg [VW-1:0] t1, vsh;
  reg [2*AW+1:0] nn;
  reg [HW+1:0] srem;
  reg [HW-1:0] sigma;
  reg [5:0] sc;
  wire adv, out_done;  // the output pipeline advances; the row's last output leaves

  wire fire = in_valid && (st == S_LOAD);
  // The row's (q, gamma, beta), read back by the output pass (RESTREAM = 1: its second pass).
  wire in_end, in_first_unused;
  wire [AW:0] n;
  wire [47:0] b_r;
  wire v_r, l_r;
  ref_row_source #(.W(48), .MAXN(MAXN), .AW(AW), .RESTREAM(RESTREAM)) u_src (.clk(clk), .rst(rst),
    .valid(in_valid), .d({in_beta, in_gamma, in_q}), .last(in_last), .ready(in_ready), .load(st == S_LOAD),
    .rd(st == S_OUT), .rewind(1'b0), .en(adv), .first(in_first_unused), .pend(in_end), .n(n), .q(b_r), .v(v_r),
    .l(l_r));
  wire signed [15:0] in_q16 = {{8{in_q[7]}}, in_q};
  wire signed [15:0] sq_in_s = in_q16 * in_q16;
  wire [15:0] sq_in = sq_in_s;

  // The shared multiplier of the statistics (operands by step).
  wire [XW-1:0] sx_abs = sx[XW-1] ? -sx : sx;
  reg [MA-1:0] ma;
  reg [MB-1:0] mb;
  always @* begin
    ma = {{(MA-QQW){1'b0}}, sxx}; mb = {{(MB-AW-1){1'b0}}, n};        // k 0: n Sxx
    case (k)
      3'd1: begin ma = {{(MA-XW){1'b0}}, sx_abs}; mb = {{(MB-XW){1'b0}}, sx_abs}; end  // Sx^2
      3'd2: begin ma = {{(MA-AW-1){1'b0}}, n}; end                                        // n^2
      3'd3: begin ma = {{(MA-2*AW-2){1'b0}}, nn}; mb = EPSW; end                         // n^2 EPS_M
      default: ;
    endcase
  end
  wire [MA+MB-1:0] prod = ma * mb;
  wire [MA+MB:0] epsr = ({1'b0, prod} + ({{(MA+MB){1'b0}}, 1'b1} << (EPS_F - 1))) >> EPS_F;

  // Square root step: rem = 4 rem + next two bits of V; trial = 4 root + 1.
  wire [HW+1:0] s_rem = {srem[HW-1:0], vsh[VW-1:VW-2]};
  wire [HW+1:0] s_trial = {sigma, 2'b01};
  wire s_take = s_rem >= s_trial;

  // Output pipeline: read -> D, N -> divider -> z, t, w, y.
  wire signed [7:0] bq = b_r[7:0];
  wire signed [XW-1:0] dq = $signed({1'b0, n}) * bq - sx;
  wire signed [NNW:0] nsg = ($signed({{(NNW-XW+1){dq[XW-1]}}, dq}) <<< 15) + $signed({{(NNW-HW+1){1'b0}}, sigma});
  wire [NNW-1:0] nabs = nsg[NNW] ? -nsg[NNW-1:0] : nsg[NNW-1:0];
  wire sz = (sigma == 0);
  wire [NNW-1:0] a_n;
  wire [43:0] a_side, d_side;
  ref_pipe #(.W(NNW + 44), .EN(PIPE)) p_a (.clk(clk), .en(adv), .d({nabs, nsg[NNW], sz, b_r[47:8], v_r, l_r}),
    .q({a_n, a_side}));
  wire [QW-1:0] quo;
  wire [NNW-1:0] rem;
  ref_udiv #(.NW(NNW), .DW(HW + 1), .QW(QW), .SW(44), .PIPE(PIPE)) u_div (.clk(clk), .en(adv), .n(a_n),
    .d({sigma, 1'b0}), .side(a_side), .q(quo), .r(rem), .side_q(d_side));
  wire d_neg = d_side[43], d_sz = d_side[42];
  wire signed [7:0] d_gamma = d_side[9:2];
  wire signed [31:0] d_beta = d_side[41:10];
  wire [QW:0] qmag = {1'b0, quo} + {{QW{1'b0}}, (d_neg && rem != 0)};
  wire signed [QW+1:0] z = d_sz ? 0 : (d_neg ? -$signed({1'b0, qmag}) : $signed({1'b0, qmag}));
  wire signed [TW-1:0] t = z * d_gamma;
  wire [TW-1:0] tmag = t[TW-1] ? -t : t;
  reg signed [TW-1:0] w;
  always @* begin
    if (SH <= 0) w = t <<< ((SH < 0) ? -SH : 0);
    else begin
      w = $signed((tmag + ({{(TW-1){1'b0}}, 1'b1} << ((SH > 0) ? SH - 1 : 0))) >> ((SH > 0) ? SH : 0));
      if (t[TW-1]) w = -w;
    end
  end
  wire signed [YW-1:0] ysum = $signed({{(YW-TW){w[TW-1]}}, w}) + $signed({{(YW-32){d_beta[31]}}, d_beta});
  wire [7:0] y_code = (ysum > 127) ? 8'h7f : ((ysum < -128) ? 8'h80 : ysum[7:0]);
  ref_row_out #(.W(8)) u_o (.clk(clk), .rst(rst), .v(d_side[1]), .l(d_side[0]), .d(y_code), .out_ready(out_ready),
    .out_valid(out_valid), .out_last(out_last), .out_d(out_y), .adv(adv), .done(out_done));

  always @(posedge clk) begin
    if (rst) begin
      st <= S_LOAD;
      k <= 0;
      sx <= 0;
      sxx <= 0;
    end else begin
      case (st)
        S_LOAD:
          if (fire) begin
            sx <= sx + {{(XW-8){in_q[7]}}, in_q};
            sxx <= sxx + {{(QQW-16){1'b0}}, sq_in};
            if (in_end) begin
              k <= 0;
              st <= S_STAT;
            end
          end
        S_STAT: begin
          k <= k + 1'b1;
          case (k)
            3'd0: t1 <= prod[VW-1:0];
            3'd1: t1 <= t1 - prod[VW-1:0];
            3'd2: nn <= prod[2*AW+1:0];
            default: begin
              vsh <= t1 + epsr[VW-1:0];
              srem <= 0;
              sigma <= 0;
              sc <= 0;
              st <= S_SQRT;
            end
          endcase
        end
        S_SQRT: begin
          srem <= s_take ? s_rem - s_trial : s_rem;
          sigma <= {sigma[HW-2:0], s_take};
          vsh <= vsh << 2;
          sc <= sc + 1'b1;
          if ({26'b0, sc} == HW - 1) st <= S_OUT;
        end
        default:  // S_OUT
          if (out_done) begin
            st <= S_LOAD;
            sx <= 0;
            sxx <= 0;
          end
      endcase
    end
  end
  wire unused = &{1'b0, prod, epsr, srem, nsg, in_first_unused};
endmodule
