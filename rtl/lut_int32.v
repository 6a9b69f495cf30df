// gqalut reference design: INT32 piecewise-linear LUT unit (area baseline).
// Same structure and programmability as the generated INT8 programmable unit
// (gqalut::write_verilog, opt.programmable), at 32 bits:
//   c_i = (q >= P_i)                      K-1 signed 32-bit comparators
//   seg = highest i with c_i, plus one    priority chain of 2:1 muxes
//   acc = ((K_seg * q) << sk) + (B_seg << sb)   one 32x32 signed multiplier, one 64-bit adder
// acc is 64 bits and wraps modulo 2^64 (the C++ model in rtl/models.hpp does the same).
// Write port: waddr = {bank[1:0], index[IB-1:0]}, wdata[31:0]:
//   bank 0: breakpoints P_0..P_{K-2}; bank 1: slopes K_0..K_{K-1}; bank 2: intercepts
//   B_0..B_{K-1}; bank 3: index 0 = sk (2 bits), index 1 = sb (3 bits).
// Table registers have no reset. OUTREG = 1 registers acc and out_valid (one cycle);
// OUTREG = 0 is combinational (out_valid = in_valid).
`timescale 1ns / 1ps
module lut_int32 #(
  parameter K = 8,
  parameter OUTREG = 0,
  parameter IB = (K <= 2) ? 1 : $clog2(K)
) (
  input  wire               clk,
  input  wire               rst,
  input  wire               we,
  input  wire [IB+1:0]      waddr,
  input  wire [31:0]        wdata,
  input  wire               in_valid,
  input  wire signed [31:0] q,
  output wire               out_valid,
  output wire signed [63:0] acc
);
  reg signed [31:0] bp [0:K-1];  // bp[K-1] is never read (K-1 breakpoints)
  reg signed [31:0] ks [0:K-1];
  reg signed [31:0] bs [0:K-1];
  reg [1:0] sk;
  reg [2:0] sb;
  wire [1:0] bank = waddr[IB+1:IB];
  wire [IB-1:0] idx = waddr[IB-1:0];
  always @(posedge clk) begin
    if (we) begin
      case (bank)
        2'd0: bp[idx] <= wdata;
        2'd1: ks[idx] <= wdata;
        2'd2: bs[idx] <= wdata;
        default: begin
          if (idx == 0) sk <= wdata[1:0];
          if (idx == 1) sb <= wdata[2:0];
        end
      endcase
    end
  end

  wire [K-2:0] c;
  genvar gi;
  generate
    for (gi = 0; gi < K - 1; gi = gi + 1) begin : cmp
      assign c[gi] = (q >= bp[gi]);
    end
  endgenerate

  reg signed [31:0] k_sel, b_sel;
  integer i;
  always @* begin
    k_sel = ks[0];
    b_sel = bs[0];
    for (i = 1; i < K; i = i + 1)
      if (c[i-1]) begin
        k_sel = ks[i];
        b_sel = bs[i];
      end
  end

  wire signed [63:0] prod = k_sel * q;  // full 32x32 -> 64 product
  wire signed [63:0] b_x = {{32{b_sel[31]}}, b_sel};
  wire signed [63:0] sum = (prod <<< sk) + (b_x <<< sb);

  generate
    if (OUTREG != 0) begin : oreg
      reg signed [63:0] acc_q;
      reg valid_q;
      always @(posedge clk) begin
        if (rst) valid_q <= 1'b0; else valid_q <= in_valid;
        acc_q <= sum;
      end
      assign acc = acc_q;
      assign out_valid = valid_q;
    end else begin : comb
      assign acc = sum;
      assign out_valid = in_valid;
      /* verilator lint_off UNUSEDSIGNAL */
      wire unused_rst = rst;  // rst only clears the output register
      /* verilator lint_on UNUSEDSIGNAL */
    end
  endgenerate
endmodule
