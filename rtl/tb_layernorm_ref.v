// gqalut reference testbench (issue 16) for the LayerNorm reference units (layernorm_fp32,
// layernorm_ibert): streams rows from in.hex, compares every output with exp.hex bit for bit,
// with random gaps on in_valid and out_ready (SEED; STALL = 0 runs at full rate). PASSES = 2 (a
// re-streamed unit) sends each row twice, pass 1 with random gamma and beta (the unit ignores them).
// LANES > 1 (a unit with in_keep / out_keep): the source packs up to LANES consecutive elements
// of a row into a beat (the row's last beat partial, in_keep = its count), and every output beat
// is checked lane by lane (out_keep, lanes beyond it 0, out_last).
//   in.hex:  one word per element {4'h1, 3'b0, last, beta[31:0], gamma[7:0], q[7:0]}   (anything else: end)
//   exp.hex: one word per output  {4'h1, 3'b0, last, y[7:0]}
// A watchdog fails the run when no beat moves for WATCHDOG cycles (e.g. a re-streamed unit sent
// each row once, waiting for passes that never come). Compile with -DUNIT=<module> (a wrapper
// with the parameters set). Prints "CYCLES: <c>" (cycles
// from the first out of reset to the last output's, inclusive) and "PASS: <n> checks".
`timescale 1ns/1ps
module tb_layernorm_ref;
  parameter MAXW = 1 << 20;
  parameter SEED = 1;
  parameter STALL = 1;
  parameter PASSES = 1;  // the source sends each row this many times (a re-streamed unit: 3 / 2)
  parameter TIMEOUT = 100000000;
  parameter WATCHDOG = 10000;  // cycles without any beat moving (in or out): a deadlock, FAIL
  parameter LANES = 1;
  localparam KB = $clog2(LANES + 1);
  reg clk = 1'b0;
  always #5 clk = ~clk;
  reg rst = 1'b1;
  reg in_valid = 1'b0, in_last = 1'b0, out_ready = 1'b0;
  reg [8*LANES-1:0] in_q = 0, in_gamma = 0;
  reg [32*LANES-1:0] in_beta = 0;
  reg [KB-1:0] in_keep = 0;
  wire in_ready, out_valid, out_last;
  wire [8*LANES-1:0] out_p;
  wire [KB-1:0] out_keep;
  generate
    if (LANES == 1) begin : one
      `UNIT dut (.clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready), .in_q(in_q),
        .in_gamma(in_gamma), .in_beta(in_beta), .in_last(in_last), .out_valid(out_valid), .out_ready(out_ready),
        .out_y(out_p), .out_last(out_last));
      assign out_keep = 1'b1;
    end else begin : multi
      `UNIT dut (.clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready), .in_q(in_q),
        .in_gamma(in_gamma), .in_beta(in_beta), .in_last(in_last), .in_keep(in_keep), .out_valid(out_valid),
        .out_ready(out_ready), .out_y(out_p), .out_last(out_last), .out_keep(out_keep));
    end
  endgenerate
  reg [55:0] ins [0:MAXW-1];
  reg [15:0] exps [0:MAXW-1];
  integer ip, op, nin, nexp, errors, cycles, seed, rs, pk, idle, bc, ob, j;
  reg bad;
  initial begin
    $readmemh("in.hex", ins);
    $readmemh("exp.hex", exps);
    nin = 0;
    while (nin < MAXW && ins[nin][55:52] === 4'h1) nin = nin + 1;
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
      if (in_last && pk < PASSES - 1) begin  // the row again, for the next pass
        pk = pk + 1;
        ip = rs;
      end else begin
        if (in_last) begin
          pk = 0;
          rs = ip + bc;
        end
        ip = ip + bc;
      end
      in_valid <= 1'b0;
    end
    if (out_valid && out_ready) begin
      // the expected beat: up to LANES outputs, ending at the row's last
      ob = 1;
      while (ob < LANES && op + ob - 1 < nexp && !exps[op + ob - 1][8]) ob = ob + 1;
      bad = (op + ob > nexp) || (out_keep !== ob) || (out_last !== exps[op + ob - 1][8]);
      for (j = 0; j < LANES; j = j + 1)
        if (j < ob) bad = bad || (out_p[8*j+:8] !== exps[op + j][7:0]);
        else bad = bad || (out_p[8*j+:8] !== 8'd0);
      if (bad) begin
        errors = errors + 1;
        if (errors <= 20)
          $display("FAIL: output %0d: y=%h last=%b keep=%0d expected y=%h last=%b (%0d lanes)", op, out_p, out_last,
                   out_keep, exps[op][7:0], exps[op + ob - 1][8], ob);
      end
      op = op + ob;
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
      in_q = 0;
      in_gamma = 0;
      in_beta = 0;
      bc = 0;
      in_last = 1'b0;
      while (bc < LANES && ip + bc < nin && !in_last) begin
        in_q[8*bc+:8] = ins[ip + bc][7:0];
        in_gamma[8*bc+:8] = ins[ip + bc][15:8];
        in_beta[32*bc+:32] = ins[ip + bc][47:16];
        if (pk < PASSES - 1) begin  // a statistics pass: gamma and beta are ignored
          in_gamma[8*bc+:8] = $random(seed);
          in_beta[32*bc+:32] = $random(seed);
        end
        in_last = ins[ip + bc][48];
        bc = bc + 1;
      end
      in_keep = bc;
    end
    out_ready = (STALL == 0) || (($random(seed) & 3) != 0);
  end
endmodule
