/* verilator lint_off DECLFILENAME */
// gqalut reference design (issue 16): pipeline helpers of the reference units.

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
