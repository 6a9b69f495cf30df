/* verilator lint_off DECLFILENAME */
// gqalut reference design (issue 16): pipeline and row helpers of the reference units.

// A register stage when EN = 1 (advancing when en = 1), a wire when EN = 0.
`timescale 1ns / 1ps
module ref_pipe #(
  parameter W = 32,
  parameter EN = 1
) (
  input  wire         clk,
  input  wire         en,
  input  wire [W-1:0] d,
  output wire [W-1:0] q
);
  generate
    if (EN != 0) begin : r
      reg [W-1:0] q_r;
      always @(posedge clk) if (en) q_r <= d;
      assign q = q_r;
    end else begin : w
      assign q = d;
      wire unused = &{1'b0, clk, en};
    end
  endgenerate
endmodule

// valid / last delayed by N stages (advancing when en), reset to 0; N = 0 is a wire.
module ref_vdelay #(
  parameter N = 1
) (
  input  wire clk,
  input  wire rst,
  input  wire en,
  input  wire v,
  input  wire l,
  output wire vq,
  output wire lq
);
  generate
    if (N > 0) begin : d
      reg [N-1:0] vs, ls;
      integer i;
      always @(posedge clk) begin
        if (rst) begin
          vs <= 0;
          ls <= 0;
        end else if (en) begin
          vs[0] <= v;
          ls[0] <= l;
          for (i = 1; i < N; i = i + 1) begin
            vs[i] <= vs[i-1];
            ls[i] <= ls[i-1];
          end
        end
      end
      assign vq = vs[N-1];
      assign lq = ls[N-1];
    end else begin : w
      assign vq = v;
      assign lq = l;
      wire unused = &{1'b0, clk, rst, en};
    end
  endgenerate
endmodule

// The row buffer of the reference softmax / LayerNorm units: a row of 1..MAXN elements of W bits
// written in order (we; the element with wlast, or the MAXN-th, ends it: wend, and n becomes the
// row's length), then read in order by the unit's phases: each cycle with en and rd reads the next
// element while any is left (q, with v and l: valid, and the row's last), a cycle with en and
// without rd, or past the end, reads nothing (v = l = 0). The read position goes back to the
// first element when a row ends and on rewind (for a second pass; never in a cycle that reads).
module ref_row_buffer #(
  parameter W = 8,
  parameter MAXN = 256,
  parameter AW = (MAXN <= 2) ? 1 : $clog2(MAXN)
) (
  input  wire         clk,
  input  wire         rst,
  input  wire         we,
  input  wire [W-1:0] wd,
  input  wire         wlast,
  output wire         wfirst,  // the element written now is the row's first
  output wire         wend,    // the element written now is the row's last
  output reg  [AW:0]  n,
  input  wire         rewind,
  input  wire         en,
  input  wire         rd,
  output reg  [W-1:0] q,
  output reg          v,
  output reg          l
);
  reg [W-1:0] mem [0:MAXN-1];
  reg [AW:0] wp, rp;
  assign wfirst = (wp == 0);
  assign wend = wlast || (wp == MAXN - 1);
  always @(posedge clk) begin
    if (rst) begin
      wp <= 0;
      rp <= 0;
      n <= 0;
      v <= 1'b0;
      l <= 1'b0;
    end else begin
      if (we) begin
        mem[wp[AW-1:0]] <= wd;
        if (wend) begin
          n <= wp + 1'b1;
          wp <= 0;
          rp <= 0;
        end else begin
          wp <= wp + 1'b1;
        end
      end
      if (rewind) rp <= 0;
      if (en) begin
        if (rd && rp < n) begin
          q <= mem[rp[AW-1:0]];
          v <= 1'b1;
          l <= (rp == n - 1'b1);
          rp <= rp + 1'b1;
        end else begin
          v <= 1'b0;
          l <= 1'b0;
        end
      end
    end
  end
endmodule

// The row source of the reference units: RESTREAM = 0 is ref_row_buffer (the row is loaded once,
// in LOAD, and read back from the buffer by the later passes); RESTREAM = 1 holds no row: the
// source sends the row again for every later pass (identical: same elements, same order, same
// last), and the element is taken from the input stream into the same read register (q, v, l),
// so the unit's pipelines and latencies are the buffered unit's.
//   load:   the unit is in its first pass (LOAD): every valid beat is taken (ready = 1).
//   rd:     the unit is in a later pass: a beat is taken in a cycle with en (ready = en) until the
//           pass's last beat; then ready stays low until rewind (a new pass) or load.
//   first / pend: the beat taken now is its pass's first / last (last, or the MAXN-th);
//   n: the row's length (from the first pass).
module ref_row_source #(
  parameter W = 8,
  parameter MAXN = 256,
  parameter AW = (MAXN <= 2) ? 1 : $clog2(MAXN),
  parameter RESTREAM = 0
) (
  input  wire         clk,
  input  wire         rst,
  input  wire         valid,
  input  wire [W-1:0] d,
  input  wire         last,
  output wire         ready,
  input  wire         load,
  input  wire         rd,
  input  wire         rewind,
  input  wire         en,
  output wire         first,
  output wire         pend,
  output wire [AW:0]  n,
  output wire [W-1:0] q,
  output wire         v,
  output wire         l
);
  generate
    if (RESTREAM == 0) begin : b
      assign ready = load;
      ref_row_buffer #(.W(W), .MAXN(MAXN), .AW(AW)) u_buf (.clk(clk), .rst(rst), .we(valid && load), .wd(d),
        .wlast(last), .wfirst(first), .wend(pend), .n(n), .rewind(rewind), .en(en), .rd(rd), .q(q), .v(v), .l(l));
    end else begin : s
      reg [AW:0] cnt, n_r;
      reg done, v_r, l_r;
      reg [W-1:0] q_r;
      wire take = rd && en && !done && valid;  // a later pass's beat
      assign ready = load || (rd && en && !done);
      assign first = (cnt == 0);
      assign pend = last || (cnt == MAXN - 1);
      assign n = n_r;
      assign q = q_r;
      assign v = v_r;
      assign l = l_r;
      always @(posedge clk) begin
        if (rst) begin
          cnt <= 0;
          n_r <= 0;
          done <= 1'b0;
          v_r <= 1'b0;
          l_r <= 1'b0;
        end else begin
          if ((load && valid) || take) cnt <= pend ? 0 : cnt + 1'b1;
          if (load && valid && pend) n_r <= cnt + 1'b1;
          if (load || rewind) done <= 1'b0;
          else if (take && pend) done <= 1'b1;
          if (en) begin
            v_r <= take;
            l_r <= take && pend;
          end
        end
      end
      always @(posedge clk) if (take) q_r <= d;
    end
  endgenerate
endmodule

// The output register of the reference units: out_valid, out_last and the output code load
// from the element pipeline's end (v, l, d) on every cycle the pipeline advances (adv: the
// register is empty or being read), so out_valid holds until out_ready; done: the row's last
// output leaves in this cycle.
module ref_row_out #(
  parameter W = 8
) (
  input  wire         clk,
  input  wire         rst,
  input  wire         v,
  input  wire         l,
  input  wire [W-1:0] d,
  input  wire         out_ready,
  output reg          out_valid,
  output reg          out_last,
  output reg  [W-1:0] out_d,
  output wire         adv,
  output wire         done
);
  assign adv = !(out_valid && !out_ready);
  assign done = out_valid && out_ready && out_last;
  always @(posedge clk) begin
    if (rst) begin
      out_valid <= 1'b0;
      out_last <= 1'b0;
    end else if (adv) begin
      out_valid <= v;
      out_last <= l;
      out_d <= d;
    end
  end
endmodule
