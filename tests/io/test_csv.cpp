// Trajectory CSV parsing (layouts of trackpy, TrackMate and hand-written
// files), its error messages, the atomic CSV writers and columns of ids
// (numbers or names).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/io/csv.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using phenoscale::InputError;
using phenoscale::IoError;
using namespace phenoscale::io;
using I64 = std::vector<std::int64_t>;
using F64 = std::vector<double>;

namespace {

class CsvTest : public phenoscale::testing::TempDirTest {
 protected:
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(file(name), std::ios::binary) << content;
    return file(name);
  }
  std::string slurp(const std::string& name) const {
    std::ifstream in(file(name), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

using phenoscale::testing::message_of;

// --- layouts ----------------------------------------------------------------------

TEST_F(CsvTest, TrackpyLayoutIsSortedByTrackThenFrame) {
  std::string path = write("trackpy.csv",
                           "# exported by trackpy\n"
                           ",particle,frame,x,y,mass\n"
                           "0,7,3,30.5,31.5,100\n"
                           "1,2,5,1.25,2.5,90\n"
                           "\n"
                           "2,7,1,10.5,11.5,100\n"
                           "3,2,4,0.5,-1.5,90\n"
                           "4,7,2,20.5,21.5,100\n"
                           "5,2,8,3.0,4.0,90\n");  // frames 4,5,8 of track 2: the gap stays
  TrajectoryTable t = read_trajectories_csv(path);
  EXPECT_FALSE(t.has_z);
  EXPECT_TRUE(t.z.empty());
  EXPECT_EQ(t.track_id, (I64{2, 2, 2, 7, 7, 7}));
  EXPECT_EQ(t.frame, (I64{4, 5, 8, 1, 2, 3}));
  EXPECT_EQ(t.x, (F64{0.5, 1.25, 3.0, 10.5, 20.5, 30.5}));
  EXPECT_EQ(t.y, (F64{-1.5, 2.5, 4.0, 11.5, 21.5, 31.5}));
  EXPECT_EQ(t.track_offsets, (I64{0, 3, 6}));
  EXPECT_EQ(t.tracks(), 2u);
  EXPECT_EQ(t.rows(), 6u);
}

TEST_F(CsvTest, ThreeDimensionalColumnsInAnyOrderAndCase) {
  std::string path = write("xyz.csv",
                           "Z,X,Track_ID,Frame,Y\r\n"
                           "0.3,0.1,11,1,0.2\r\n"
                           "3.3,3.1,5,0,3.2\r\n"
                           "1.3,1.1,11,0,1.2\r\n"
                           "2.3,2.1,-4,9,2.2\r\n");
  TrajectoryTable t = read_trajectories_csv(path);
  EXPECT_TRUE(t.has_z);
  EXPECT_FALSE(t.constant_z.has_value());
  EXPECT_EQ(t.track_id, (I64{-4, 5, 11, 11}));
  // Only TrackMate's constant POSITION_Z means a 2-D movie: another table keeps its z.
  const TrajectoryTable plane = read_trajectories_csv(write("plane.csv", "track_id,frame,x,y,z\n1,0,1,2,5\n1,1,2,3,5\n"));
  EXPECT_TRUE(plane.has_z);
  EXPECT_EQ(plane.z, (F64{5.0, 5.0}));
  EXPECT_EQ(t.frame, (I64{9, 0, 0, 1}));
  EXPECT_EQ(t.x, (F64{2.1, 3.1, 1.1, 0.1}));
  EXPECT_EQ(t.y, (F64{2.2, 3.2, 1.2, 0.2}));
  EXPECT_EQ(t.z, (F64{2.3, 3.3, 1.3, 0.3}));
  EXPECT_EQ(t.track_offsets, (I64{0, 1, 2, 4}));
}

TEST_F(CsvTest, SemicolonAndTabSeparators) {
  TrajectoryTable a =
      read_trajectories_csv(write("semi.csv", "trajectory;t;x;y\n1;0;1e-3;+2\n1;1;-4.5E2;5\n"));
  EXPECT_EQ(a.frame, (I64{0, 1}));
  EXPECT_EQ(a.x, (F64{1e-3, -450.0}));
  EXPECT_EQ(a.y, (F64{2.0, 5.0}));
  TrajectoryTable b =
      read_trajectories_csv(write("tab.tsv", "\xEF\xBB\xBFparticle\tframe\tx\ty\n3\t1\t 1.5 \t2\n"));
  EXPECT_EQ(b.track_id, (I64{3}));
  EXPECT_EQ(b.x, (F64{1.5}));
}

TEST_F(CsvTest, TrackMateSpotTableWithDescriptionRows) {
  std::string path = write("trackmate.csv",
                           "LABEL,ID,TRACK_ID,QUALITY,POSITION_X,POSITION_Y,POSITION_Z,POSITION_T,FRAME\n"
                           "Label,Spot ID,Track ID,Quality,X,Y,Z,T,Frame\n"
                           "Label,Spot ID,Track ID,Quality,X,Y,Z,T,Frame\n"
                           ",,,(quality),(micron),(micron),(micron),(sec),\n"
                           "ID1,1,0,5.0,1.5,2.5,0.0,0.2,2\n"
                           "ID0,0,0,5.0,0.5,1.5,0.0,0.1,1\n");
  TrajectoryTable t = read_trajectories_csv(path);
  EXPECT_EQ(t.frame, (I64{1, 2}));  // FRAME, not POSITION_T
  EXPECT_EQ(t.x, (F64{0.5, 1.5}));
  // TrackMate writes POSITION_Z = 0 for a 2-D movie: the tracks are 2-D.
  EXPECT_FALSE(t.has_z);
  EXPECT_TRUE(t.z.empty());
  ASSERT_TRUE(t.constant_z.has_value());
  EXPECT_EQ(*t.constant_z, 0.0);
  EXPECT_EQ(t.track_offsets, (I64{0, 2}));
}

TEST_F(CsvTest, IntegralFloatFramesAreAccepted) {
  TrajectoryTable t = read_trajectories_csv(write("f.csv", "track_id,frame,x,y\n1.0,3.0,0,0\n"));
  EXPECT_EQ(t.track_id, (I64{1}));
  EXPECT_EQ(t.frame, (I64{3}));
}

TEST_F(CsvTest, HeaderOnlyGivesAnEmptyTable) {
  TrajectoryTable t = read_trajectories_csv(write("empty.csv", "track_id,frame,x,y,z\n"));
  EXPECT_EQ(t.rows(), 0u);
  EXPECT_EQ(t.tracks(), 0u);
  EXPECT_EQ(t.track_offsets, (I64{0}));
  EXPECT_TRUE(t.has_z);
}

// --- errors ---------------------------------------------------------------------------

TEST_F(CsvTest, MissingColumnNamesTheColumnsFound) {
  std::string path = write("m.csv", "particle,x,y,intensity\n1,2,3,4\n");
  EXPECT_EQ(message_of<InputError>([&] { read_trajectories_csv(path); }),
            path + ": no column for frame (frame or t); columns found: particle, x, y, intensity");
  path = write("m2.csv", "id,time,x\n");
  EXPECT_EQ(message_of<InputError>([&] { read_trajectories_csv(path); }),
            path +
                ": no column for track id (track_id, particle or trajectory) and frame (frame or t) and y; "
                "columns found: id, time, x");
}

TEST_F(CsvTest, BadNumberNamesLineColumnAndText) {
  std::string path = write("bad.csv", "particle,frame,x,y\n# comment\n1,0,1.0,2.0\n1,1,abc,2.0\n");
  EXPECT_EQ(message_of<InputError>([&] { read_trajectories_csv(path); }),
            path + ":4: column 'x' has 'abc'; expected a number");
  path = write("empty_field.csv", "particle,frame,x,y\n1,0,1.0,\n");
  EXPECT_EQ(message_of<InputError>([&] { read_trajectories_csv(path); }),
            path + ":2: column 'y' is empty; expected a number");
  path = write("decimal_comma.csv", "particle;frame;x;y\n1;0;1,5;2\n");
  EXPECT_EQ(message_of<InputError>([&] { read_trajectories_csv(path); }),
            path + ":2: column 'x' has '1,5'; expected a number");
}

TEST_F(CsvTest, NonIntegerFrameOrTrack) {
  std::string path = write("frame.csv", "track_id,frame,x,y\n1,0,0,0\n1,2.5,0,0\n");
  EXPECT_EQ(message_of<InputError>([&] { read_trajectories_csv(path); }),
            path + ":3: column 'frame' has '2.5'; expected an integer frame number");
  path = write("track.csv", "track_id,frame,x,y\nA7,0,0,0\n");
  EXPECT_EQ(message_of<InputError>([&] { read_trajectories_csv(path); }),
            path + ":2: column 'track_id' has 'A7'; expected an integer track id");
}

TEST_F(CsvTest, NonFiniteCoordinates) {
  std::string path = write("nan.csv", "track_id,frame,x,y\n1,0,0,nan\n");
  EXPECT_EQ(message_of<InputError>([&] { read_trajectories_csv(path); }),
            path + ":2: column 'y' has 'nan'; expected a finite coordinate");
  path = write("inf.csv", "track_id,frame,x,y,z\n1,0,0,0,-inf\n");
  EXPECT_EQ(message_of<InputError>([&] { read_trajectories_csv(path); }),
            path + ":2: column 'z' has '-inf'; expected a finite coordinate");
}

TEST_F(CsvTest, DuplicateFrameNamesBothLines) {
  std::string path = write("dup.csv", "track_id,frame,x,y\n1,1,0,0\n1,2,0,0\n2,2,0,0\n1,2,5,5\n");
  EXPECT_EQ(message_of<InputError>([&] { read_trajectories_csv(path); }),
            path + ": track 1 has frame 2 twice (lines 3 and 5); expected one row per frame");
}

TEST_F(CsvTest, ExtraFieldIsRefusedNotShifted) {
  // "0,5" in a comma-separated file would read x = 0, y = 5: refused, with the line.
  const std::string path = write("comma.csv", "track_id,frame,x,y\n1,0,0.5,1.5\n1,1,0,5,1.5\n");
  EXPECT_EQ(message_of<InputError>([&] { read_trajectories_csv(path); }),
            path + ":3: row has 5 fields but the header names 4 columns; expected at most one field per column "
                   "(a decimal comma or an unquoted separator?)");
  // A trailing separator adds an empty field, which shifts nothing: read.
  const std::string trailing = write("trailing.csv", "track_id,frame,x,y\n1,0,0.5,1.5,\n1,1,0.5,2.5,,\n");
  const auto t = read_trajectories_csv(trailing);
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.y[1], 2.5);
}

TEST_F(CsvTest, ShortRowAndDuplicateColumnAndNoHeader) {
  std::string path = write("short.csv", "track_id,frame,x,y\n1,0,3\n");
  EXPECT_EQ(message_of<InputError>([&] { read_trajectories_csv(path); }),
            path + ":2: row has 3 fields; expected at least 4 (column 'y' is field 4)");
  path = write("twice.csv", "track_id,frame,x,y,x\n");
  EXPECT_EQ(message_of<InputError>([&] { read_trajectories_csv(path); }),
            path + ": column 'x' appears twice in the header (fields 3 and 5)");
  path = write("nothing.csv", "# only a comment\n\n");
  EXPECT_NE(
      message_of<InputError>([&] { read_trajectories_csv(path); }).find(path + ": file has no header row"),
      std::string::npos);
  EXPECT_NE(message_of<InputError>([&] { read_trajectories_csv(file("missing.csv")); }).find("No such file"),
            std::string::npos);
}

// --- writing ---------------------------------------------------------------------------

TEST_F(CsvTest, TrajectoriesRoundTripExactly) {
  TrajectoryTable t;
  t.track_id = {1, 1, 4};
  t.frame = {0, 3, -2};
  t.x = {0.1, 1.0 / 3.0, -1e-300};
  t.y = {123456.789, -0.0, 6.02214076e23};
  t.z = {1.5, 2.5, std::nextafter(1.0, 2.0)};
  t.has_z = true;
  write_trajectories_csv(file("out.csv"), t);
  EXPECT_EQ(entries(), std::vector<std::string>{"out.csv"});
  EXPECT_EQ(slurp("out.csv").rfind("track_id,frame,x,y,z\n1,0,0.1,123456.789,1.5\n1,3,", 0), 0u)
      << slurp("out.csv");

  TrajectoryTable r = read_trajectories_csv(file("out.csv"));
  EXPECT_EQ(r.track_id, t.track_id);
  EXPECT_EQ(r.frame, t.frame);
  EXPECT_EQ(r.x, t.x);
  EXPECT_EQ(r.y, t.y);
  EXPECT_EQ(r.z, t.z);
  EXPECT_EQ(r.track_offsets, (I64{0, 2, 3}));

  t.has_z = false;
  write_trajectories_csv(file("out.csv"), t);
  EXPECT_EQ(slurp("out.csv").substr(0, 19), "track_id,frame,x,y\n");
  EXPECT_FALSE(read_trajectories_csv(file("out.csv")).has_z);
}

TEST_F(CsvTest, TrajectoryWriterRefusesInconsistentTables) {
  TrajectoryTable t;
  t.track_id = {1, 2};
  t.frame = {0, 0};
  t.x = {0, 0};
  t.y = {0};
  EXPECT_THROW(write_trajectories_csv(file("bad.csv"), t), IoError);
  t.y = {0, NAN};
  EXPECT_NE(message_of<IoError>([&] { write_trajectories_csv(file("bad.csv"), t); }).find("track 2, frame 0"),
            std::string::npos);
  EXPECT_TRUE(entries().empty());
}

TEST_F(CsvTest, ResultTableContent) {
  write_csv_table(file("res.csv"), {"k", "score", "p"}, {{1, 2, 3}, {0.5, -2.25, NAN}, {1e-10, INFINITY, 0}});
  EXPECT_EQ(slurp("res.csv"), "k,score,p\n1,0.5,1e-10\n2,-2.25,inf\n3,nan,0\n");
  EXPECT_EQ(entries(), std::vector<std::string>{"res.csv"});
}

// Whole numbers as integers (an id of 100000 is not "1e+05"), up to 2^53;
// beyond, and for fractions, the shortest form that reads back the same.
TEST_F(CsvTest, ResultTableWritesWholeNumbersAsIntegers) {
  write_csv_table(file("ids.csv"), {"cell_id", "x"},
                  {{100000, 3e5, -1e6, 1e15}, {1e20, 0.1, -0.0, 1e16}});
  EXPECT_EQ(slurp("ids.csv"), "cell_id,x\n100000,1e+20\n300000,0.1\n-1000000,0\n1000000000000000,1e+16\n");
}

// pandas' read_csv reads these as NaN by default (its na_values); so do we
// where a numeric field may hold a gap.
TEST(CsvMissingValues, PandasDefaultSpellingsAreMissing) {
  for (const char* na : {"", "nan", "NaN", "-nan", "-NaN", "NA", "N/A", "n/a", "#N/A", "#N/A N/A", "#NA", "NULL",
                         "null", "None", "<NA>", "1.#QNAN", "-1.#IND"})
    EXPECT_TRUE(is_missing_value(na)) << "'" << na << "'";
  for (const char* value : {"0", "-1.5", "inf", "n", "NAN1", "nana", "missing", "-"})
    EXPECT_FALSE(is_missing_value(value)) << "'" << value << "'";
}

TEST_F(CsvTest, ResultTableErrorsLeaveNoFile) {
  EXPECT_NE(message_of<IoError>([&] {
              write_csv_table(file("r.csv"), {"a", "b"}, {{1, 2}, {3}});
            }).find("column 'b' has 1 rows; expected 2"),
            std::string::npos);
  EXPECT_THROW(write_csv_table(file("r.csv"), {"a"}, {{1}, {2}}), IoError);
  EXPECT_THROW(write_csv_table(file("r.csv"), {"a,b"}, {{1}}), IoError);
  EXPECT_TRUE(entries().empty());
}

TEST_F(CsvTest, LargeTableRoundTripsThroughTheBuffer) {
  TrajectoryTable t;
  for (int track = 0; track < 300; ++track)
    for (int f = 0; f < 200; ++f) {
      t.track_id.push_back(track);
      t.frame.push_back(f);
      t.x.push_back(std::sin(track * 200.0 + f));
      t.y.push_back(std::cos(track * 200.0 + f) * 1e3);
    }
  write_trajectories_csv(file("big.csv"), t);
  TrajectoryTable r = read_trajectories_csv(file("big.csv"));
  EXPECT_EQ(r.x, t.x);
  EXPECT_EQ(r.y, t.y);
  EXPECT_EQ(r.tracks(), 300u);
  EXPECT_EQ(r.track_offsets[150], 150 * 200);
}

}  // namespace

TEST_F(CsvTest, HeaderlessRowsKeepTheirLinesAndRefuseRaggedRows) {
  // numpy.savetxt's layout: no header; comments and blank lines are skipped.
  const auto t = read_csv_rows(write("m.csv", "# map\n1,2,nan\n\n4,,6\n"));
  EXPECT_TRUE(t.header.empty());
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"1", "2", "nan"}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"4", "", "6"}));
  EXPECT_EQ(t.where(1), file("m.csv") + ":4");
  EXPECT_EQ(message_of<InputError>([&] { read_csv_rows(write("r.csv", "1,2,3\n4,5\n")); }),
            file("r.csv") + ":2: expected 3 fields as in the first row, found 2");
  EXPECT_NE(message_of<InputError>([&] { read_csv_rows(write("e.csv", "# nothing\n")); }).find("empty file"),
            std::string::npos);
}

TEST_F(CsvTest, TextTableDropsTrailingSeparatorsButNotAnExtraValue) {
  // Spreadsheets end rows (and the header) with a separator: empty fields
  // past the header's names shift nothing; a value there would, and is
  // refused with its line.
  const auto t = read_csv_text(write("labels.csv", "track_id,label,\n1,A,\n2,B,,\n3,C\n"));
  EXPECT_EQ(t.header, (std::vector<std::string>{"track_id", "label"}));
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"1", "A"}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"2", "B"}));
  EXPECT_EQ(t.rows[2], (std::vector<std::string>{"3", "C"}));
  EXPECT_EQ(message_of<InputError>([&] { read_csv_text(write("extra.csv", "track_id,label\n1,A,\n2,B,x\n")); }),
            file("extra.csv") + ":3: expected 2 fields as in the header, found 3");
}

// pandas' to_csv(sep='\t') writes NaN as an empty field: a gap in the first
// or last column, or a row that is all gaps, stays empty fields (trimming the
// line's tabs would shift the columns or drop the row). With another
// separator a line of tabs alone is blank.
TEST_F(CsvTest, TabSeparatedGapsAtTheEndsOfALineAreFields) {
  const auto t = read_csv_text(write("wide.tsv", "sample_id\tv0\tv1\tv2\n7\t1.5\t\t\n8\t\t2\t3\r\n"));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"7", "1.5", "", ""}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"8", "", "2", "3"}));
  const auto m = read_csv_rows(write("map.tsv", "1\t2\t3\n\t\t\n\t5\t6\n"));
  ASSERT_EQ(m.rows.size(), 3u);
  EXPECT_EQ(m.rows[1], (std::vector<std::string>{"", "", ""}));
  EXPECT_EQ(m.rows[2], (std::vector<std::string>{"", "5", "6"}));
  EXPECT_EQ(m.where(2), file("map.tsv") + ":3");
  const auto c = read_csv_rows(write("map.csv", "1,2\n\t\n3,4\n"));
  ASSERT_EQ(c.rows.size(), 2u);
  EXPECT_EQ(c.rows[1], (std::vector<std::string>{"3", "4"}));
  // A table's row names its sample: lines of tabs alone there are blank (spreadsheets end files with them).
  const auto movies = read_csv_text(write("movies.tsv", "movie\tcell_id\tcondition\na.tif\t1\tctl\n\t\t\n"));
  ASSERT_EQ(movies.rows.size(), 1u);
  // A trajectory header's trailing tab names no column: a value under it is refused, not ignored.
  EXPECT_EQ(message_of<InputError>([&] {
              read_trajectories_csv(write("trailing.tsv", "track_id\tframe\tx\ty\t\n1\t0\t1\t2\t9\n"));
            }),
            file("trailing.tsv") + ":2: row has 5 fields but the header names 4 columns; expected at most one field "
                                   "per column (a decimal comma or an unquoted separator?)");
  // In a headerless matrix a first row of gaps is a row; a stray tab too few for a row is a blank line.
  const auto g = read_csv_rows(write("gaps.tsv", "\t\t\n1\t2\t3\n\t\n"));
  ASSERT_EQ(g.rows.size(), 2u);
  EXPECT_EQ(g.rows[0], (std::vector<std::string>{"", "", ""}));
  EXPECT_EQ(g.rows[1], (std::vector<std::string>{"1", "2", "3"}));
  // Tabs after a comma header are no tab separation.
  const auto h = read_csv_text(write("labels.csv", "track_id,label\t\t\n1,A\n"));
  EXPECT_EQ(h.header, (std::vector<std::string>{"track_id", "label"}));
  const TrajectoryTable tr = read_trajectories_csv(write("t.tsv", "\tparticle\tframe\tx\ty\n\t1\t0\t1.5\t2\n"));
  EXPECT_EQ(tr.track_id, (I64{1}));
  EXPECT_EQ(tr.x, (F64{1.5}));
}

// Files saved by other tools: classic-Mac CR line ends read as lines (line
// numbers kept), UTF-16 is named with what to do, a directory is named as
// one, and a wide header is cut to one readable line in messages.
TEST_F(CsvTest, CrLineEndsUtf16DirectoriesAndWideHeaders) {
  const auto t = read_csv_text(write("cr.csv", "a,b\r1,2\r\r3,4\r"));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(t.where(1), file("cr.csv") + ":4");
  const auto crlf = read_csv_text(write("crlf.csv", "a,b\r\n1,2\r\n"));
  EXPECT_EQ(crlf.rows.at(0), (std::vector<std::string>{"1", "2"}));
  EXPECT_NE(message_of<InputError>([&] { read_csv_text(write("u16.csv", std::string("\xFF\xFE" "a\0,\0b\0", 8))); })
                .find("UTF-16 text"),
            std::string::npos);
  fs::create_directories(file("dir.csv"));
  EXPECT_EQ(message_of<InputError>([&] { read_csv_text(file("dir.csv")); }),
            file("dir.csv") + ": is a directory; expected a file");
  std::string header = "particle";
  for (int j = 0; j < 60; ++j) header += ",column_" + std::to_string(j);
  const std::string message =
      message_of<InputError>([&] { read_trajectories_csv(write("wide.csv", header + "\n" + std::string(60, ',') + "0\n")); });
  EXPECT_NE(message.find("… (61 columns)"), std::string::npos) << message;
  EXPECT_LT(message.size(), 600u) << message;
}

// RFC 4180 within a line, as pandas and spreadsheets write text with commas:
// a quoted field keeps its separators, "" is one quote; a quote that never
// closes is plain text. The writers quote such text, and it reads back.
TEST_F(CsvTest, QuotedFieldsKeepSeparatorsAndQuotes) {
  const auto t = read_csv_text(write("q.csv", "movie,cell_id,condition\n"
                                              "m1.tif,1,\"drug, 10 uM\"\n"
                                              "m2.tif,2,\"say \"\"hi\"\"\"\n"
                                              "m3.tif,3,  \"DMSO\"  \n"
                                              "m4.tif,4,\"open\n"
                                              "m5.tif,5,\"A\" strain\n"));
  ASSERT_EQ(t.rows.size(), 5u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"m1.tif", "1", "drug, 10 uM"}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"m2.tif", "2", "say \"hi\""}));
  EXPECT_EQ(t.rows[2], (std::vector<std::string>{"m3.tif", "3", "DMSO"}));
  EXPECT_EQ(t.rows[3], (std::vector<std::string>{"m4.tif", "4", "\"open"}));
  EXPECT_EQ(t.rows[4], (std::vector<std::string>{"m5.tif", "5", "A strain"}));
  EXPECT_EQ(csv_field("#3"), "\"#3\"");
  EXPECT_EQ(csv_field("drug, 10 uM"), "\"drug, 10 uM\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("DMSO"), "DMSO");
  write_csv_table(file("t.csv"), {"condition"}, {{"drug, 10 uM", "DMSO"}}, {"p"}, {{0.5, 1}});
  EXPECT_EQ(slurp("t.csv"), "condition,p\n\"drug, 10 uM\",0.5\nDMSO,1\n");
  const auto back = read_csv_text(file("t.csv"));
  EXPECT_EQ(back.rows[0], (std::vector<std::string>{"drug, 10 uM", "0.5"}));
  // A value quoted over two lines is not joined (a stray quote would then
  // swallow rows): the row is refused, and the message names the line whose
  // quote is not closed — the row's own, or the one before when the value
  // was the row's last.
  EXPECT_EQ(message_of<InputError>([&] { read_csv_text(write("ml.csv", "a,b,c\n1,\"drug\n10 uM\",2\n")); }),
            file("ml.csv") + ":2: expected 3 fields as in the header, found 2; a quoted field is not closed on line 2 "
                             "(line breaks inside a quoted value are not read: remove them)");
  EXPECT_EQ(message_of<InputError>([&] { read_csv_text(write("ml2.csv", "a,b\n1,\"drug\n10 uM\"\n")); }),
            file("ml2.csv") + ":3: expected 2 fields as in the header, found 1; a quoted field is not closed on line 2 "
                             "(line breaks inside a quoted value are not read: remove them)");
  // A value that merely begins with an escaped quote is closed: an extra
  // field there gets no such hint.
  EXPECT_EQ(message_of<InputError>([&] { read_csv_text(write("q2.csv", "a,b\n1,\"\"\"wt\"\" control\",x\n")); }),
            file("q2.csv") + ":2: expected 2 fields as in the header, found 3");
}

// A column of ids is numbers when every field is one, names otherwise: each
// distinct text one id, in the order of its first line (edge import's
// sample_id, cell_id and experiment; a movies table's cell_id).
TEST_F(CsvTest, IdColumnsHoldNumbersOrNames) {
  const auto t = read_csv_text(write("ids.csv",
                                     "sample_id,cell_id,experiment,plain\n"
                                     "12,3.0,0,7\n"
                                     "s-2,NA,1,007\n"
                                     ",,,\n"
                                     "12,-1,2,7\n"
                                     "\"A01, c3\",4,1,8\n"));
  // sample_id: names once one is not an integer; "12" twice is one id.
  const IdColumn samples(t, 0, IdColumn::Numbers::plain_digits, false);
  EXPECT_TRUE(samples.named());
  EXPECT_EQ(samples.names(), (std::vector<std::string>{"12", "s-2", "A01, c3"}));
  EXPECT_EQ((I64{samples.id(t, 0, 0), samples.id(t, 1, 0), samples.id(t, 3, 0), samples.id(t, 4, 0)}),
            (I64{0, 1, 0, 2}));
  EXPECT_EQ(samples.describe(t), "sample_id: 3 id(s) as names (line 3: 's-2' is not a number), written back as imported");
  // cell_id: 3.0 reads as an integer (pandas), NA and -1 are unknown: numbers.
  const IdColumn cells(t, 1, IdColumn::Numbers::any_integer, true);
  EXPECT_FALSE(cells.named());
  EXPECT_EQ(cells.describe(t), "");
  EXPECT_EQ((I64{cells.id(t, 0, -1), cells.id(t, 1, -1), cells.id(t, 3, -1), cells.id(t, 4, -1)}), (I64{3, -1, -1, 4}));
  // "007" beside "7": plain digits make names (written back as given);
  // any_integer reads both as 7.
  const IdColumn plain(t, 3, IdColumn::Numbers::plain_digits, false);
  EXPECT_TRUE(plain.named());
  EXPECT_EQ(plain.names(), (std::vector<std::string>{"7", "007", "8"}));
  const IdColumn loose(t, 3, IdColumn::Numbers::any_integer, false);
  EXPECT_FALSE(loose.named());
  EXPECT_EQ(loose.id(t, 1, 0), 7);
  // Numbers keep their checks (here: at least 1).
  const IdColumn experiments(t, 2, IdColumn::Numbers::any_integer, false);
  EXPECT_EQ(message_of<InputError>([&] { experiments.id(t, 0, 1); }),
            file("ids.csv") + ":2: column 'experiment': expected an integer >= 1, found '0'");
  // No column: nothing named.
  EXPECT_FALSE(IdColumn(t, -1, IdColumn::Numbers::any_integer, true).named());
  // A blank row has no id (readers skip it; asked anyway, it is an error).
  EXPECT_EQ(message_of<InputError>([&] { samples.id(t, 2, 0); }),
            file("ids.csv") + ":4: column 'sample_id' is empty; expected an id");
}

// Among names, a field that reads as an integer keeps the numbers' rules:
// -1 (or -1.0) is unknown where unknown cells are allowed, and below the
// limit it is refused (a movies table's cell -3 is not a name).
TEST_F(CsvTest, NumbersAmongNamesKeepTheirRules) {
  const auto t = read_csv_text(write("mixed.csv", "cell_id\nA01\n-1.0\n-3\n"));
  const IdColumn cells(t, 0, IdColumn::Numbers::any_integer, true);
  EXPECT_TRUE(cells.named());
  EXPECT_EQ(cells.names(), (std::vector<std::string>{"A01", "-3"}));
  EXPECT_EQ(cells.id(t, 0, -1), 0);
  EXPECT_EQ(cells.id(t, 1, -1), -1);
  EXPECT_EQ(message_of<InputError>([&] { cells.id(t, 2, -1); }),
            file("mixed.csv") + ":4: column 'cell_id': expected an integer >= -1, found '-3'");
  const IdColumn movies(t, 0, IdColumn::Numbers::any_integer, false);
  EXPECT_EQ(message_of<InputError>([&] { movies.id(t, 1, 0); }),
            file("mixed.csv") + ":3: column 'cell_id': expected an integer >= 0, found '-1.0'");
}

TEST_F(CsvTest, IdColumnsRefuseMissingAndControlCharactersInNames) {
  const auto missing = read_csv_text(write("missing.csv", "sample_id,v\ns1,1\nNA,2\n"));
  EXPECT_EQ(message_of<InputError>([&] { IdColumn(missing, 0, IdColumn::Numbers::plain_digits, false); }),
            file("missing.csv") + ":3: column 'sample_id': a missing value ('NA'); expected an id");
  // A missing value in a column of numbers is the number parser's error.
  const auto numbers = read_csv_text(write("numbers.csv", "experiment,v\n1,1\n,2\n"));
  const IdColumn experiments(numbers, 0, IdColumn::Numbers::any_integer, false);
  EXPECT_FALSE(experiments.named());
  EXPECT_EQ(message_of<InputError>([&] { experiments.id(numbers, 1, 0); }),
            file("numbers.csv") + ":3: column 'experiment': expected an integer >= 0, found ''");
  const auto bell = read_csv_text(write("bell.csv", "cell_id,v\nc\x07" "1,1\n"));
  EXPECT_EQ(message_of<InputError>([&] { IdColumn(bell, 0, IdColumn::Numbers::any_integer, true); }),
            file("bell.csv") + ":2: column 'cell_id': the id 'c\x07" "1' holds a control character (a line break, a "
                               "tab); expected an id on one line");
}

// A table of text columns alone (movies.csv before its maps are counted).
TEST_F(CsvTest, ATableOfTextColumnsAloneHasItsRows) {
  write_csv_table(file("text.csv"), {"movie", "cell_id"}, {{"a.tif", "b.tif"}, {"A01, c1", "3"}}, {}, {});
  EXPECT_EQ(slurp("text.csv"), "movie,cell_id\na.tif,\"A01, c1\"\nb.tif,3\n");
}
