// gqalut reference testbench (issue 16) for the FP32 blocks of the reference units, one at a
// time (OP): 0 fp32_exp (PIPE, one input per cycle), 1 fp32_newton_unit (recip), 2 (rsqrt),
// 3 fp32_to_int (OW 9, S 8, 0..255), 4 fp32_to_int (OW 8, S 4, -128..127),
// 5 fp32_from_int (W 32, F 4). vec.hex: one word per check {4'h1, x[31:0], expected[31:0]}
// (anything else: end). Compares bit for bit; prints "PASS: <n> checks".
`timescale 1ns/1ps
module tb_fp32_ops;
  parameter OP = 0;
  parameter PIPE = 1;
  parameter MAXW = 1 << 20;
  localparam LAT = (PIPE != 0) ? 12 : 0;
  reg clk = 1'b0;
  always #5 clk = ~clk;
  reg rst = 1'b1, start = 1'b0;
  reg [31:0] x = 32'd0;
  wire [31:0] y_exp, y_rcp, y_rsq, y_fi;
  wire [8:0] y_ti9;
  wire [7:0] y_ti8;
  wire b_rcp, d_rcp, b_rsq, d_rsq;
  fp32_exp #(.PIPE(PIPE)) u_exp (.clk(clk), .en(1'b1), .d(x), .y(y_exp));
  fp32_newton_unit #(.RSQRT(0)) u_rcp (.clk(clk), .rst(rst), .start(start), .x(x), .busy(b_rcp), .done(d_rcp),
    .y(y_rcp));
  fp32_newton_unit #(.RSQRT(1)) u_rsq (.clk(clk), .rst(rst), .start(start), .x(x), .busy(b_rsq), .done(d_rsq),
    .y(y_rsq));
  fp32_to_int #(.OW(9), .S(8), .LO(0), .HI(255)) u_ti9 (.x(x), .y(y_ti9));
  fp32_to_int #(.OW(8), .S(4), .LO(-128), .HI(127)) u_ti8 (.x(x), .y(y_ti8));
  fp32_from_int #(.W(32), .F(4)) u_fi (.q(x), .y(y_fi));
  reg [67:0] vec [0:MAXW-1];
  integer nv, i, errors;
  reg [31:0] got;
  task check(input integer j, input [31:0] g);
    if (g !== vec[j][31:0]) begin
      errors = errors + 1;
      if (errors <= 20) $display("FAIL: op %0d x=%h got=%h expected=%h", OP, vec[j][63:32], g, vec[j][31:0]);
    end
  endtask
  initial begin
    $readmemh("vec.hex", vec);
    nv = 0;
    while (nv < MAXW && vec[nv][67:64] === 4'h1) nv = nv + 1;
    errors = 0;
    repeat (2) @(posedge clk);
    @(negedge clk) rst = 1'b0;
    if (OP == 0) begin
      for (i = 0; i < nv + LAT; i = i + 1) begin
        @(negedge clk);
        if (i < nv) x = vec[i][63:32];
        #1;
        if (PIPE == 0) check(i, y_exp);
        else if (i >= LAT) check(i - LAT, y_exp);
        @(posedge clk);
      end
    end else if (OP == 1 || OP == 2) begin
      for (i = 0; i < nv; i = i + 1) begin
        @(negedge clk);
        x = vec[i][63:32];
        start = 1'b1;
        @(negedge clk);
        start = 1'b0;
        x = 32'hdeadbeef;
        while (!(OP == 1 ? d_rcp : d_rsq)) @(negedge clk);
        check(i, OP == 1 ? y_rcp : y_rsq);
      end
    end else begin
      for (i = 0; i < nv; i = i + 1) begin
        x = vec[i][63:32];
        #1;
        check(i, OP == 3 ? {23'b0, y_ti9} : (OP == 4 ? {{24{y_ti8[7]}}, y_ti8} : y_fi));
      end
    end
    if (errors == 0 && nv > 0) $display("PASS: %0d checks", nv);
    else begin
      $display("FAIL: %0d of %0d checks", errors, nv);
      $fatal(1, "testbench failed");
    end
    $finish;
  end
  wire unused = &{1'b0, b_rcp, b_rsq};
endmodule
