// gqalut reference design: FP32 piecewise-linear LUT unit (area baseline).
// Same structure and programmability as the INT8/INT32 units, in IEEE-754 single:
//   c_i = (x >= P_i)                        K-1 floating-point comparators
//   seg = highest i with c_i, plus one      priority chain of 2:1 muxes
//   y   = fl(fl(K_seg * x) + B_seg)         one FP multiplier, one FP adder (not fused)
// Arithmetic: round to nearest, ties to even, after the multiply and after the add.
// Subnormals: flushed to zero (sign kept) on every input (x, breakpoints, coefficients)
// and on every result (a result whose exponent, after rounding with unbounded exponent
// range, is below the normal range becomes a signed zero).
// Inf: overflow rounds to +-inf; inf*finite nonzero = inf; inf + finite = inf.
// NaN: any NaN operand, inf*0 and inf-inf give the canonical quiet NaN 32'h7fc00000.
// Compare: x >= P_i is IEEE (false when either is NaN, -0 == +0).
// Write port: waddr = {bank[1:0], index[IB-1:0]}, wdata[31:0] (float bits):
//   bank 0: breakpoints P_0..P_{K-2}; bank 1: slopes; bank 2: intercepts.
// Table registers have no reset. OUTREG = 1 registers y and out_valid (one cycle).
`timescale 1ns / 1ps
module lut_fp32 #(
  parameter K = 8,
  parameter OUTREG = 0,
  parameter IB = (K <= 2) ? 1 : $clog2(K)
) (
  input  wire          clk,
  input  wire          rst,
  input  wire          we,
  input  wire [IB+1:0] waddr,
  input  wire [31:0]   wdata,
  input  wire          in_valid,
  input  wire [31:0]   x,
  output wire          out_valid,
  output wire [31:0]   y
);
  reg [31:0] bp [0:K-1];  // bp[K-1] is never read
  reg [31:0] ks [0:K-1];
  reg [31:0] bs [0:K-1];
  wire [1:0] bank = waddr[IB+1:IB];
  wire [IB-1:0] idx = waddr[IB-1:0];
  always @(posedge clk) begin
    if (we) begin
      case (bank)
        2'd0: bp[idx] <= wdata;
        2'd1: ks[idx] <= wdata;
        2'd2: bs[idx] <= wdata;
        default: ;
      endcase
    end
  end

  wire [K-2:0] c;
  genvar gi;
  generate
    for (gi = 0; gi < K - 1; gi = gi + 1) begin : cmp
      fp32_ge u_ge (.a(x), .b(bp[gi]), .ge(c[gi]));
    end
  endgenerate

  reg [31:0] k_sel, b_sel;
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

  wire [31:0] prod, sum;
  fp32_mul u_mul (.a(k_sel), .b(x), .y(prod));
  fp32_add u_add (.a(prod), .b(b_sel), .y(sum));

  generate
    if (OUTREG != 0) begin : oreg
      reg [31:0] y_q;
      reg valid_q;
      always @(posedge clk) begin
        if (rst) valid_q <= 1'b0; else valid_q <= in_valid;
        y_q <= sum;
      end
      assign y = y_q;
      assign out_valid = valid_q;
    end else begin : comb
      assign y = sum;
      assign out_valid = in_valid;
      /* verilator lint_off UNUSEDSIGNAL */
      wire unused_rst = rst;  // rst only clears the output register
      /* verilator lint_on UNUSEDSIGNAL */
    end
  endgenerate
endmodule

