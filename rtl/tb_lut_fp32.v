// gqalut reference testbench for lut_fp32: replays cmds.hex (written by the C++ model in
// rtl/models.hpp through tests/rtl) and compares every output bit for bit.
// cmds.hex: one 128-bit word per line, {op[7:0], addr[23:0], a[31:0], b[63:0]}:
//   op 1: register write (waddr = addr, wdata = a); op 2: check (input a, expected b);
//   op 0 or missing: end. Prints "PASS: <n> checks" or "FAIL: ..." and calls $fatal.
`timescale 1ns/1ps
module tb_lut_fp32;
  parameter K = 8;
  parameter OUTREG = 0;
  parameter IB = (K <= 2) ? 1 : $clog2(K);
  parameter MAXCMDS = 65536;
  reg clk = 1'b0;
  always #5 clk = ~clk;
  reg rst = 1'b1, we = 1'b0, in_valid = 1'b0;
  reg [IB+1:0] waddr = 0;
  reg [31:0] wdata = 0;
  reg [31:0] x = 0;
  wire out_valid;
  wire [31:0] y;
  lut_fp32 #(.K(K), .OUTREG(OUTREG)) dut (.clk(clk), .rst(rst), .we(we), .waddr(waddr), .wdata(wdata),
    .in_valid(in_valid), .x(x), .out_valid(out_valid), .y(y));
  reg [127:0] cmds [0:MAXCMDS-1];
  reg [127:0] cmd;
  integer pc, errors, checks;
  initial begin
    errors = 0; checks = 0;
    $readmemh("cmds.hex", cmds);
    repeat (2) @(posedge clk);
    @(negedge clk); rst = 1'b0;
    pc = 0;
    cmd = cmds[0];
    while (pc < MAXCMDS && (cmd[127:120] === 8'd1 || cmd[127:120] === 8'd2)) begin
      @(negedge clk);
      we = 1'b0; in_valid = 1'b0;
      if (cmd[127:120] == 8'd1) begin
        we = 1'b1; waddr = cmd[96+IB+1:96]; wdata = cmd[95:64];
      end else begin
        x = cmd[95:64]; in_valid = 1'b1;
        if (OUTREG != 0) begin @(posedge clk); #1; end else #1;
        checks = checks + 1;
        if (y !== cmd[31:0] || out_valid !== 1'b1) begin
          errors = errors + 1;
          if (errors <= 20) $display("FAIL: in=%h out=%h expected=%h", cmd[95:64], y, cmd[31:0]);
        end
      end
      pc = pc + 1;
      if (pc < MAXCMDS) cmd = cmds[pc];
    end
    @(negedge clk); we = 1'b0;
    if (errors == 0 && checks > 0) $display("PASS: %0d checks", checks);
    else begin
      $display("FAIL: %0d of %0d checks", errors, checks);
      $fatal(1, "testbench failed");
    end
    $finish;
  end
endmodule
