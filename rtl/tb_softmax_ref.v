// gqalut reference testbench (issue 16) for the softmax reference units (softmax_fp32,
// softmax_ibert): streams rows from in.hex, compares every output with exp.hex bit for bit,
// with random gaps on in_valid and out_ready (SEED; STALL = 0 runs at full rate). PASSES = 3 (a
// re-streamed unit) sends each row three times.
//   in.hex:  one word per element {4'h1, 3'b0, last, q[7:0]}   (anything else: end)
//   exp.hex: one word per output  {4'h1, 3'b0, last, p[7:0]}
// A watchdog fails the run when no beat moves for WATCHDOG cycles (e.g. a re-streamed unit sent
// each row once, waiting for passes that never come). Compile with -DUNIT=<module> (a wrapper
// with the parameters set). Prints "CYCLES: <c>" (cycles
// from the first out of reset to the last output's, inclusive) and "PASS: <n> checks".
`timescale 1ns/1ps
module tb_softmax_ref;
  parameter MAXW = 1 << 20;
  parameter SEED = 1;
  parameter STALL = 1;
  parameter PASSES = 1;  // the source sends each row this many times (a re-streamed unit: 3 / 2)
  parameter TIMEOUT = 100000000;
  parameter WATCHDOG = 10000;  // cycles without any beat moving (in or out): a deadlock, FAIL
  reg clk = 1'b0;
  always #5 clk = ~clk;
  reg rst = 1'b1;
  reg in_valid = 1'b0, in_last = 1'b0, out_ready = 1'b0;
  reg [7:0] in_q = 8'd0;
  wire in_ready, out_valid, out_last;
  wire [7:0] out_p;
  `UNIT dut (.clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready), .in_q(in_q),
    .in_last(in_last), .out_valid(out_valid), .out_ready(out_ready), .out_p(out_p), .out_last(out_last));
  reg [15:0] ins [0:MAXW-1];
  reg [15:0] exps [0:MAXW-1];
  integer ip, op, nin, nexp, errors, cycles, seed, rs, pk, idle;
  initial begin
    $readmemh("in.hex", ins);
    $readmemh("exp.hex", exps);
    nin = 0;
    while (nin < MAXW && ins[nin][15:12] === 4'h1) nin = nin + 1;
    nexp = 0;
    while (nexp < MAXW && exps[nexp][15:12] === 4'h1) nexp = nexp + 1;
    ip = 0; op = 0; errors = 0; cycles = 0; seed = SEED; rs = 0; pk = 0; idle = 0;
    repeat (3) @(posedge clk);
    @(negedge clk) rst = 1'b0;
  end
  always @(posedge clk) if (!rst) begin
    cycles = cycles + 1;
    idle = (in_valid && in_ready) || (out_valid && out_ready) ? 0 : idle + 1;
    if (in_valid && in_ready) begin
      if (ins[ip][8] && pk < PASSES - 1) begin  // the row again, for the next pass
        pk = pk + 1;
        ip = rs;
      end else begin
        if (ins[ip][8]) begin
          pk = 0;
          rs = ip + 1;
        end
        ip = ip + 1;
      end
      in_valid <= 1'b0;
    end
    if (out_valid && out_ready) begin
      if (op >= nexp || out_p !== exps[op][7:0] || out_last !== exps[op][8]) begin
        errors = errors + 1;
        if (errors <= 20)
          $display("FAIL: output %0d: p=%h last=%b expected p=%h last=%b", op, out_p, out_last, exps[op][7:0],
                   exps[op][8]);
      end
      op = op + 1;
    end
    if (idle >= WATCHDOG) begin
      $display("FAIL: watchdog: no beat moved for %0d cycles (%0d of %0d outputs, %0d of %0d inputs)", idle, op, nexp,
               ip, nin);
      $fatal(1, "testbench failed");
    end
    if (op >= nexp || cycles >= TIMEOUT) begin
      $display("CYCLES: %0d", cycles);
      if (errors == 0 && op == nexp && ip == nin && nexp > 0) $display("PASS: %0d checks", nexp);
      else begin
        $display("FAIL: %0d errors, %0d of %0d outputs, %0d of %0d inputs, %0d cycles", errors, op, nexp, ip, nin,
                 cycles);
        $fatal(1, "testbench failed");
      end
      $finish;
    end
  end
  always @(negedge clk) if (!rst) begin
    if (!in_valid && ip < nin && (STALL == 0 || ($random(seed) & 3) != 0)) begin
      in_valid = 1'b1;
      in_q = ins[ip][7:0];
      in_last = ins[ip][8];
    end
    out_ready = (STALL == 0) || (($random(seed) & 3) != 0);
  end
endmodule
