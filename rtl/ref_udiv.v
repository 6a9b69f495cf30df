// gqalut reference design (issue 16): restoring unsigned division for the I-BERT-style units.
// q = floor(n / d), r = n - q d, for a quotient known to be below 2^QW (the caller proves it;
// d = 0 gives q = all ones). One quotient bit per stage, most significant first; PIPE = 1
// registers every stage (latency QW, advancing when en = 1), PIPE = 0 is combinational.
// side (SW bits) travels with the operands, so the caller's per-element data stays aligned.
`timescale 1ns / 1ps
module ref_udiv #(
  parameter NW = 16,
  parameter DW = 8,
  parameter QW = 8,
  parameter SW = 1,
  parameter PIPE = 1
) (
  input  wire          clk,
  input  wire          en,
  input  wire [NW-1:0] n,
  input  wire [DW-1:0] d,
  input  wire [SW-1:0] side,
  output wire [QW-1:0] q,
  output wire [NW-1:0] r,
  output wire [SW-1:0] side_q
);
  localparam RW = (NW > DW + QW) ? NW : DW + QW;  // wide enough for d << (QW - 1) and n
  wire [RW-1:0] rem [0:QW];
  wire [DW-1:0] dv [0:QW];
  wire [QW-1:0] qv [0:QW];
  wire [SW-1:0] sv [0:QW];
  assign rem[0] = {{(RW-NW){1'b0}}, n};
  assign dv[0] = d;
  assign qv[0] = {QW{1'b0}};
  assign sv[0] = side;
  genvar i;
  generate
    for (i = 0; i < QW; i = i + 1) begin : st
      wire [RW-1:0] dsh = {{(RW-DW){1'b0}}, dv[i]} << (QW - 1 - i);
      wire take = rem[i] >= dsh;
      wire [RW-1:0] nr = take ? rem[i] - dsh : rem[i];
      wire [QW-1:0] nq = qv[i] | ({{(QW-1){1'b0}}, take} << (QW - 1 - i));
      ref_pipe #(.W(RW + DW + QW + SW), .EN(PIPE)) p (.clk(clk), .en(en), .d({nr, dv[i], nq, sv[i]}),
        .q({rem[i+1], dv[i+1], qv[i+1], sv[i+1]}));
    end
  endgenerate
  assign q = qv[QW];
  assign r = rem[QW][NW-1:0];
  assign side_q = sv[QW];
  wire unused = &{1'b0, dv[QW], rem[QW]};
endmodule
