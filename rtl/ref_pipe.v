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
