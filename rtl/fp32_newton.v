/* verilator lint_off DECLFILENAME */
// gqalut reference design (issue 16): FP32 reciprocal and reciprocal square root by Newton
// steps from a 64-entry seed, as sequential engines that borrow one FP32 multiplier and one
// FP32 adder of the unit around them (ports mul_*/add_*: the unit's own fp32_mul/fp32_add,
// free while the engine runs; fp32_newton_unit wraps either with its own).
// Conventions of fp32_add.v / fp32_mul.v: round to nearest even, FTZ, canonical NaN.
//
// fp32_recip_seq: y = 1 / x.  x = (-1)^s 1.m 2^e, mr = 1.m (FP32, exponent 0).
//   y0 = Y[m[22:17]] / 1024,  Y[i] = round(2^17 / (129 + 2i))   (1 / the midpoint, 9 bits)
//   2 steps:  t = fl(mr y);  u = fl(2 - t);  y = fl(y u)        (rel. error 2^-6.9 -> 2^-13.9 -> rounding)
//   y = (-1)^s y 2^-e: exponent add, below the normal range -> signed 0.
//   Specials: +-0 -> +-inf, +-inf -> +-0, NaN -> canonical NaN.
// start (one cycle, x sampled) -> done one cycle with y, 8 cycles later; busy meanwhile.
`timescale 1ns / 1ps
module fp32_recip_seq (
  input  wire        clk,
  input  wire        rst,
  input  wire        start,
  input  wire [31:0] x,
  output wire        busy,
  output reg         done,
  output reg  [31:0] y,
  output reg  [31:0] mul_a,
  output reg  [31:0] mul_b,
  input  wire [31:0] mul_y,
  output reg  [31:0] add_a,
  output reg  [31:0] add_b,
  input  wire [31:0] add_y
);
  reg [2:0] st;      // 1..6: Newton operations, 7: result
  reg run;
  reg [31:0] mr, yr, tr;
  reg [7:0] ex;
  reg sg;
  reg [1:0] cls;     // 0 normal, 1 zero, 2 inf, 3 NaN
  reg [8:0] s;
  always @* begin
    case (x[22:17])
      6'd0: s = 9'd504;
      6'd1: s = 9'd489;
      6'd2: s = 9'd474;
      6'd3: s = 9'd459;
      6'd4: s = 9'd445;
      6'd5: s = 9'd431;
      6'd6: s = 9'd418;
      6'd7: s = 9'd405;
      6'd8: s = 9'd392;
      6'd9: s = 9'd380;
      6'd10: s = 9'd368;
      6'd11: s = 9'd356;
      6'd12: s = 9'd345;
      6'd13: s = 9'd334;
      6'd14: s = 9'd323;
      6'd15: s = 9'd312;
      6'd16: s = 9'd302;
      6'd17: s = 9'd292;
      6'd18: s = 9'd282;
      6'd19: s = 9'd273;
      6'd20: s = 9'd264;
      6'd21: s = 9'd255;
      6'd22: s = 9'd246;
      6'd23: s = 9'd237;
      6'd24: s = 9'd229;
      6'd25: s = 9'd220;
      6'd26: s = 9'd212;
      6'd27: s = 9'd204;
      6'd28: s = 9'd196;
      6'd29: s = 9'd189;
      6'd30: s = 9'd182;
      6'd31: s = 9'd174;
      6'd32: s = 9'd167;
      6'd33: s = 9'd160;
      6'd34: s = 9'd153;
      6'd35: s = 9'd147;
      6'd36: s = 9'd140;
      6'd37: s = 9'd134;
      6'd38: s = 9'd127;
      6'd39: s = 9'd121;
      6'd40: s = 9'd115;
      6'd41: s = 9'd109;
      6'd42: s = 9'd103;
      6'd43: s = 9'd98;
      6'd44: s = 9'd92;
      6'd45: s = 9'd87;
      6'd46: s = 9'd81;
      6'd47: s = 9'd76;
      6'd48: s = 9'd71;
      6'd49: s = 9'd65;
      6'd50: s = 9'd60;
      6'd51: s = 9'd55;
      6'd52: s = 9'd51;
      6'd53: s = 9'd46;
      6'd54: s = 9'd41;
      6'd55: s = 9'd36;
      6'd56: s = 9'd32;
      6'd57: s = 9'd27;
      6'd58: s = 9'd23;
      6'd59: s = 9'd19;
      6'd60: s = 9'd14;
      6'd61: s = 9'd10;
      6'd62: s = 9'd6;
      6'd63: s = 9'd2;      default: s = 9'd0;
    endcase
  end
  assign busy = run;
  always @* begin
    mul_a = mr; mul_b = yr; add_a = 32'h40000000; add_b = {~tr[31], tr[30:0]};
    if (st == 3'd3 || st == 3'd6) begin mul_a = yr; mul_b = tr; end
  end
  wire signed [9:0] er = $signed({2'b0, yr[30:23]}) - ($signed({2'b0, ex}) - 10'sd127);
  always @(posedge clk) begin
    done <= 1'b0;
    if (rst) begin
      run <= 1'b0;
      st <= 3'd0;
    end else if (start && !run) begin
      run <= 1'b1;
      st <= 3'd1;
      mr <= {9'h07f, x[22:0]};
      yr <= {9'h07e, s, 14'b0};
      ex <= x[30:23];
      sg <= x[31];
      cls <= (x[30:23] == 8'h00) ? 2'd1 : ((x[30:23] == 8'hff) ? ((x[22:0] == 0) ? 2'd2 : 2'd3) : 2'd0);
    end else if (run) begin
      case (st)
        3'd1, 3'd4: tr <= mul_y;   // t = mr * y
        3'd2, 3'd5: tr <= add_y;   // u = 2 - t
        3'd3, 3'd6: yr <= mul_y;   // y = y * u
        default: ;
      endcase
      if (st == 3'd7) begin
        run <= 1'b0;
        st <= 3'd0;
        done <= 1'b1;
        case (cls)
          2'd1: y <= {sg, 8'hff, 23'b0};
          2'd2: y <= {sg, 31'b0};
          2'd3: y <= 32'h7fc00000;
          default: y <= (er <= 0) ? {sg, 31'b0} : {sg, er[7:0], yr[22:0]};
        endcase
      end else begin
        st <= st + 3'd1;
      end
    end
  end
endmodule

// fp32_rsqrt_seq: y = 1 / sqrt(x).  x = 1.m 2^e; p = e mod 2; mr = 1.m 2^p in [1, 4), h = mr / 2.
//   y0 = Y[{p, m[22:18]}] / 1024,  Y[32p + j] = round(8192 / sqrt((65 + 2j) 2^p))   (9 bits)
//   2 steps:  a = fl(y y);  b = fl(a h);  c = fl(1.5 - b);  y = fl(y c)   (2^-6.9 -> 2^-13.2 -> rounding)
//   y = y 2^-(e-p)/2 (exponent add; always normal).
//   Specials: +-0 -> +-inf, x < 0 -> NaN, +inf -> +0, NaN -> canonical NaN.
// start -> done 10 cycles later.
module fp32_rsqrt_seq (
  input  wire        clk,
  input  wire        rst,
  input  wire        start,
  input  wire [31:0] x,
  output wire        busy,
  output reg         done,
  output reg  [31:0] y,
  output reg  [31:0] mul_a,
  output reg  [31:0] mul_b,
  input  wire [31:0] mul_y,
  output reg  [31:0] add_a,
  output reg  [31:0] add_b,
  input  wire [31:0] add_y
);
  reg [3:0] st;      // 1..8: Newton operations, 9: result
  reg run;
  reg [31:0] yr, tr, hr;
  reg [7:0] ex;
  reg sg;
  reg [1:0] cls;     // 0 normal, 1 zero, 2 +inf, 3 NaN (NaN or x < 0)
  wire p = ~x[23];   // e = E - 127 is odd when the biased exponent E is even
  reg [8:0] s;
  always @* begin
    case ({p, x[22:18]})
      6'd0: s = 9'd504;
      6'd1: s = 9'd489;
      6'd2: s = 9'd474;
      6'd3: s = 9'd460;
      6'd4: s = 9'd447;
      6'd5: s = 9'd434;
      6'd6: s = 9'd422;
      6'd7: s = 9'd410;
      6'd8: s = 9'd398;
      6'd9: s = 9'd387;
      6'd10: s = 9'd377;
      6'd11: s = 9'd366;
      6'd12: s = 9'd356;
      6'd13: s = 9'd347;
      6'd14: s = 9'd337;
      6'd15: s = 9'd328;
      6'd16: s = 9'd320;
      6'd17: s = 9'd311;
      6'd18: s = 9'd303;
      6'd19: s = 9'd295;
      6'd20: s = 9'd287;
      6'd21: s = 9'd280;
      6'd22: s = 9'd273;
      6'd23: s = 9'd266;
      6'd24: s = 9'd259;
      6'd25: s = 9'd252;
      6'd26: s = 9'd245;
      6'd27: s = 9'd239;
      6'd28: s = 9'd233;
      6'd29: s = 9'd227;
      6'd30: s = 9'd221;
      6'd31: s = 9'd215;
      6'd32: s = 9'd206;
      6'd33: s = 9'd196;
      6'd34: s = 9'd185;
      6'd35: s = 9'd175;
      6'd36: s = 9'd166;
      6'd37: s = 9'd157;
      6'd38: s = 9'd148;
      6'd39: s = 9'd140;
      6'd40: s = 9'd132;
      6'd41: s = 9'd124;
      6'd42: s = 9'd116;
      6'd43: s = 9'd109;
      6'd44: s = 9'd102;
      6'd45: s = 9'd95;
      6'd46: s = 9'd89;
      6'd47: s = 9'd82;
      6'd48: s = 9'd76;
      6'd49: s = 9'd70;
      6'd50: s = 9'd64;
      6'd51: s = 9'd59;
      6'd52: s = 9'd53;
      6'd53: s = 9'd48;
      6'd54: s = 9'd43;
      6'd55: s = 9'd38;
      6'd56: s = 9'd33;
      6'd57: s = 9'd28;
      6'd58: s = 9'd24;
      6'd59: s = 9'd19;
      6'd60: s = 9'd15;
      6'd61: s = 9'd10;
      6'd62: s = 9'd6;
      6'd63: s = 9'd2;      default: s = 9'd0;
    endcase
  end
  assign busy = run;
  always @* begin
    mul_a = yr; mul_b = yr; add_a = 32'h3fc00000; add_b = {~tr[31], tr[30:0]};
    if (st == 4'd2 || st == 4'd6) begin mul_a = tr; mul_b = hr; end
    if (st == 4'd4 || st == 4'd8) begin mul_a = yr; mul_b = tr; end
  end
  // (E - 127 - p) / 2, exact: the numerator is even.
  wire signed [9:0] eh = ($signed({2'b0, ex}) - 10'sd127 - $signed({9'b0, ~ex[0]})) >>> 1;
  wire signed [9:0] er = $signed({2'b0, yr[30:23]}) - eh;  // in [1, 254]
  wire unused_er = &{1'b0, er[9:8]};
  always @(posedge clk) begin
    done <= 1'b0;
    if (rst) begin
      run <= 1'b0;
      st <= 4'd0;
    end else if (start && !run) begin
      run <= 1'b1;
      st <= 4'd1;
      hr <= {1'b0, p ? 8'h7f : 8'h7e, x[22:0]};
      yr <= {9'h07e, s, 14'b0};
      ex <= x[30:23];
      sg <= x[31];
      if (x[30:23] == 8'h00) cls <= 2'd1;
      else if (x[30:23] == 8'hff && x[22:0] != 0) cls <= 2'd3;
      else if (x[31]) cls <= 2'd3;
      else if (x[30:23] == 8'hff) cls <= 2'd2;
      else cls <= 2'd0;
    end else if (run) begin
      case (st)
        4'd1, 4'd5: tr <= mul_y;   // a = y * y
        4'd2, 4'd6: tr <= mul_y;   // b = a * h
        4'd3, 4'd7: tr <= add_y;   // c = 1.5 - b
        4'd4, 4'd8: yr <= mul_y;   // y = y * c
        default: ;
      endcase
      if (st == 4'd9) begin
        run <= 1'b0;
        st <= 4'd0;
        done <= 1'b1;
        case (cls)
          2'd1: y <= {sg, 8'hff, 23'b0};
          2'd2: y <= 32'h00000000;
          2'd3: y <= 32'h7fc00000;
          default: y <= {1'b0, er[7:0], yr[22:0]};
        endcase
      end else begin
        st <= st + 4'd1;
      end
    end
  end
endmodule

// A stand-alone engine with its own multiplier and adder (for tests and synthesis):
// fp32_recip_seq, or fp32_rsqrt_seq with RSQRT = 1.
module fp32_newton_unit #(
  parameter RSQRT = 0
) (
  input  wire        clk,
  input  wire        rst,
  input  wire        start,
  input  wire [31:0] x,
  output wire        busy,
  output wire        done,
  output wire [31:0] y
);
  wire [31:0] ma, mb, my, aa, ab, ay;
  generate
    if (RSQRT != 0) begin : rsq
      fp32_rsqrt_seq u_seq (.clk(clk), .rst(rst), .start(start), .x(x), .busy(busy), .done(done), .y(y),
        .mul_a(ma), .mul_b(mb), .mul_y(my), .add_a(aa), .add_b(ab), .add_y(ay));
    end else begin : rcp
      fp32_recip_seq u_seq (.clk(clk), .rst(rst), .start(start), .x(x), .busy(busy), .done(done), .y(y),
        .mul_a(ma), .mul_b(mb), .mul_y(my), .add_a(aa), .add_b(ab), .add_y(ay));
    end
  endgenerate
  fp32_mul u_mul (.a(ma), .b(mb), .y(my));
  fp32_add u_add (.a(aa), .b(ab), .y(ay));
endmodule
