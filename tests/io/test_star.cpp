// STAR particle tables: the exact text RELION's reader expects (version
// line, data_ block, loop_, numbered columns, one row per particle), STAR
// quoting, numbers that read back, and the errors for malformed tables. The
// CLI test (tests/app/test_tomo_pipeline.sh) opens the stages' files with
// gemmi, a standard STAR/CIF parser.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/io/star.hpp"
#include "test_support.hpp"

using phenoscale::InputError;
using namespace phenoscale::io;

TEST(Star, HeaderAndRowsHaveRelionsLayout) {
  const std::vector<std::string> columns{"rlnTomoName", "rlnCoordinateX", "rlnClassNumber"};
  const std::string text = star_loop_header("particles", columns) +
                           star_row({"tomogram.mrc", star_number(12.5), "3"}, columns.size()) +
                           star_row({"my tomogram.mrc", star_number(-0.125), "1"}, columns.size());
  EXPECT_EQ(text,
            "\n# version 30001\n\ndata_particles\n\nloop_\n"
            "_rlnTomoName #1\n_rlnCoordinateX #2\n_rlnClassNumber #3\n"
            "tomogram.mrc 12.5 3\n'my tomogram.mrc' -0.125 1\n");
}

// Bare, a value starting with # would be read as a comment, with _ as a tag,
// data_/loop_ as a new block or loop: such values are quoted.
TEST(Star, ValuesThatWouldReadAsSyntaxAreQuoted) {
  EXPECT_EQ(star_row({"#3", "_x", "data_1.mrc", "LOOP_a", "plain"}, 5), "'#3' '_x' 'data_1.mrc' 'LOOP_a' plain\n");
  EXPECT_EQ(star_row({"a#b", "x_", "mydata_1"}, 3), "a#b x_ mydata_1\n");
}

TEST(Star, NumbersReadBackToNineDigits) {
  for (double v : {0.0, 1.0, -2.5, 3.14159265358979, 1e-7, 123456789.0, -98765.4321}) {
    const double back = std::strtod(star_number(v).c_str(), nullptr);
    EXPECT_NEAR(back, v, 1e-8 * std::max(1.0, std::abs(v))) << star_number(v);
  }
  EXPECT_EQ(star_number(40), "40");
}

TEST(Star, MalformedTablesAreOneLineErrors) {
  using phenoscale::testing::message_of;
  EXPECT_NE(message_of<InputError>([] { star_row({"a", "b"}, 3); }).find("expected 3 values, found 2"), std::string::npos);
  EXPECT_NE(message_of<InputError>([] { star_row({"a", ""}, 2); }).find("non-empty value"), std::string::npos);
  EXPECT_NE(message_of<InputError>([] { star_row({"it's here"}, 1); }).find("\"it's here\""), std::string::npos);
  EXPECT_NE(message_of<InputError>([] { star_loop_header("particles", {"rln Coordinate"}); }).find("\"rln Coordinate\""),
            std::string::npos);
  EXPECT_NE(message_of<InputError>([] { star_loop_header("", {"rlnX"}); }).find("STAR block"), std::string::npos);
}
