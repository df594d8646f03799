// Parallel HDF5 sample arrays and ragged series: collective writes at the
// current rank count (1, 2 or 3 under ctest; uneven blocks and, for small N,
// empty ranks) read back bit-identical by sub-communicators of 1 and 2 ranks;
// validation errors; atomic outputs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/output_set.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/ragged.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/partition.hpp"
#include "test_support.hpp"

using namespace phenoscale;
using phenoscale::testing::world;
namespace fs = std::filesystem;

namespace {

// A directory shared by all ranks of this test run.
std::string shared_dir() { return phenoscale::testing::shared_temp_dir("phenoscale-h5"); }

// The CollectiveError message of `read`, or "" when it succeeds.
template <typename F>
std::string message(F read) {
  try {
    read();
  } catch (const CollectiveError& e) {
    return e.what();
  }
  return "";
}

// Sample i's values depend only on i (counter-based RNG), like real data.
float value(std::uint64_t i, std::uint64_t j) {
  core::Rng rng(5, core::Stream::test, i);
  float v = 0;
  for (std::uint64_t k = 0; k <= j; ++k) v = static_cast<float>(rng.normal());
  return v;
}
std::uint64_t frames_of(std::uint64_t i) { return i % 5 == 0 ? 0 : 1 + (i * 7) % 13; }  // some empty series

// Each rank writes its own block of `n` samples of shape 3x2 and a ragged
// series per sample, as a stage would.
void write_fixture(const std::string& path, std::uint64_t n) {
  const auto mine = par::BlockPartition::over(n, world()).range(world().rank());
  std::vector<float> samples;
  io::RaggedSeries<float> series;
  series.width = 2;
  for (std::uint64_t i = mine.begin; i < mine.end; ++i) {
    for (std::uint64_t j = 0; j < 6; ++j) samples.push_back(value(i, j));
    std::vector<float> s;
    for (std::uint64_t f = 0; f < frames_of(i); ++f) {
      s.push_back(value(i, 10 + 2 * f));
      s.push_back(value(i, 11 + 2 * f));
    }
    series.push_back(s.data(), frames_of(i));
  }
  io::H5File f = io::H5File::create(path, world());
  io::write_samples(f, "/samples", samples, {3, 2});
  io::write_ragged(f, "/series", series);
  io::write_provenance(f, {"test", "[run]\nseed = 5\n", "test_hdf5_mpi", {}, 5});
  f.commit();
}

void expect_fixture(const std::string& path, std::uint64_t n, const par::Comm& comm) {
  io::H5File f = io::H5File::open(path, comm);
  const auto block = io::read_samples<float>(f, "/samples", {{3, 2}, true});
  ASSERT_EQ(block.global_rows, n);
  ASSERT_EQ(block.rows.size(), par::BlockPartition::over(n, comm).range(comm.rank()).size());
  for (std::uint64_t r = 0; r < block.rows.size(); ++r) {
    for (std::uint64_t j = 0; j < 6; ++j) {
      // Bit-identical, not merely close.
      ASSERT_EQ(block.row(r)[j], value(block.rows.begin + r, j)) << "sample " << block.rows.begin + r;
    }
  }
  const auto series = io::read_ragged<float>(f, "/series", 2);
  ASSERT_EQ(series.global_series, n);
  ASSERT_EQ(series.first_series, block.rows.begin);
  for (std::uint64_t s = 0; s < series.size(); ++s) {
    const std::uint64_t i = series.first_series + s;
    ASSERT_EQ(series.length(s), frames_of(i)) << "series " << i;
    for (std::uint64_t frame = 0; frame < frames_of(i); ++frame) {
      ASSERT_EQ(series.series(s)[2 * frame], value(i, 10 + 2 * frame));
      ASSERT_EQ(series.series(s)[2 * frame + 1], value(i, 11 + 2 * frame));
    }
  }
  EXPECT_EQ(f.read_int_attribute("/", "mpi_ranks"), world().size());
  EXPECT_EQ(f.read_string_attribute("/", "deck"), "[run]\nseed = 5\n");
}

}  // namespace

class Hdf5RoundTrip : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(Hdf5RoundTrip, WrittenAtThisRankCountReadBackAtOneAndTwoRanks) {
  const std::uint64_t n = GetParam();
  const std::string path = shared_dir() + "/roundtrip-" + std::to_string(n) + ".h5";
  write_fixture(path, n);
  expect_fixture(path, n, world());
  // Sub-communicators of 1 and 2 ranks read the file written by all ranks.
  for (int readers : {1, 2}) {
    if (readers > world().size()) continue;
    const bool member = world().rank() < readers;
    par::Comm sub = world().split(member ? 0 : 1, world().rank());
    if (member) expect_fixture(path, n, sub);
    world().barrier();
  }
}

// n = 2 leaves rank 2 empty at np = 3; 1001 gives uneven blocks.
INSTANTIATE_TEST_SUITE_P(Sizes, Hdf5RoundTrip, ::testing::Values(0, 2, 7, 1001));

namespace {
// HDF5 files open in this process (a file an unwinding rank gave up on
// stays open: io::H5File::abandon).
ssize_t open_files() { return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE); }
}  // namespace

TEST(Hdf5, OutputIsInvisibleUntilCommitAndRemovedOnFailure) {
  const std::string path = shared_dir() + "/atomic.h5";
  const ssize_t open_before = open_files();
  std::string temporary;
  try {
    io::H5File f = io::H5File::create(path, world());
    temporary = f.temporary_path();
    std::vector<double> x(4, 1.0);
    io::write_samples(f, "/x", x, {});
    EXPECT_FALSE(fs::exists(path));
    EXPECT_TRUE(fs::exists(temporary));
    // A failure on the last rank only, mid-write, agreed by all.
    par::collectively(world(), [] {
      if (world().rank() == world().size() - 1) throw IoError("simulated failure mid-write");
    });
    f.commit();
  } catch (const CollectiveError& e) {
    EXPECT_STREQ(e.what(), "simulated failure mid-write");
  }
  world().barrier();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(temporary));
  EXPECT_EQ(open_files(), open_before);  // every rank unwound past the file together and closed it
}

// An error on one rank caught by par::collectively while a file read by all
// ranks goes out of scope inside it: the failing rank unwinds past the file,
// the others close it as usual; both meet in the collective close, and the
// error becomes every rank's CollectiveError (an unwinding rank must not give
// up on a close that the others are making).
TEST(Hdf5, OneRanksErrorInsideCollectivelyClosesAFileReadByAll) {
  const std::string path = shared_dir() + "/read_by_all.h5";
  {
    io::H5File f = io::H5File::create(path, world());
    f.create_group("/g");
    f.commit();
  }
  const ssize_t open_before = open_files();
  std::string message;
  try {
    par::collectively(world(), [&] {
      io::H5File f = io::H5File::open(path, world());
      EXPECT_TRUE(f.has("/g"));
      if (world().rank() == world().size() - 1) throw IoError("planted error on the last rank only");
    });
  } catch (const CollectiveError& e) {
    message = e.what();
  }
  EXPECT_EQ(message, "planted error on the last rank only");
  EXPECT_EQ(open_files(), open_before);
}

// Provenance of a sweep report with hundreds of inputs, or a long deck, is an
// attribute over 64 KiB, which the earliest file format refuses.
TEST(Hdf5, AStringAttributeOver64KiBRoundTrips) {
  const std::string path = shared_dir() + "/long_attribute.h5";
  std::string text;
  for (int i = 0; text.size() < 200000; ++i) text += "runs/sweep/repeat_" + std::to_string(i) + "/recover.h5\n";
  {
    io::H5File f = io::H5File::create(path, world());
    f.write_attribute("/", "inputs", text);
    f.commit();
  }
  io::H5File f = io::H5File::open(path, world());
  EXPECT_EQ(f.read_string_attribute("/", "inputs"), text);
}

TEST(Hdf5, AFailedRenameReachesEveryRankAndLeavesNoFile) {
  // The final name is taken by a non-empty directory, so rank 0's rename of
  // the finished temporary fails: every rank must throw the same error (none
  // may go on to a later collective and hang), and the temporary is removed.
  const std::string path = shared_dir() + "/taken.h5";
  if (world().is_root()) fs::create_directories(path + "/inside");
  world().barrier();
  std::string temporary, message;
  try {
    io::H5File f = io::H5File::create(path, world());
    temporary = f.temporary_path();
    io::write_samples(f, "/x", std::vector<double>(4, 1.0), {});
    f.commit();
  } catch (const CollectiveError& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("cannot move the finished temporary file"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
  world().barrier();
  EXPECT_FALSE(temporary.empty());
  EXPECT_FALSE(fs::exists(temporary));
  EXPECT_TRUE(fs::is_directory(path + "/inside"));  // what held the name is untouched
  world().barrier();
  if (world().is_root()) fs::remove_all(path);
}

TEST(OutputSet, RetiringRemovesThePreviousRunsFilesAndRefusesADirectory) {
  // The previous run's set: two files of three (one was never written).
  const std::string dir = shared_dir() + "/set";
  const std::vector<std::string> set{dir + "/teacher.h5", dir + "/teacher.csv", dir + "/teacher_truth.csv"};
  if (world().is_root()) {
    fs::create_directories(dir);
    for (std::size_t i = 0; i < 2; ++i) std::ofstream(set[i]) << "previous run\n";
  }
  world().barrier();
  // Seen by every rank before rank 0 removes them (and the same verdict on
  // every rank: a rank leaving the test alone would hang the others).
  const int planted = fs::exists(set[0]) && fs::exists(set[1]) ? 1 : 0;
  ASSERT_EQ(world().allreduce_min(planted), 1);
  io::retire_outputs(set, world());
  for (const auto& path : set) EXPECT_FALSE(fs::exists(path)) << path;
  // A directory under an output's name stops the stage on every rank, named,
  // and is left as it was (even when empty).
  const std::string taken = dir + "/taken.csv";
  if (world().is_root()) fs::create_directories(taken);
  world().barrier();
  std::string message;
  try {
    io::retire_outputs({taken}, world());
  } catch (const CollectiveError& e) {
    message = e.what();
  }
  EXPECT_NE(message.find(taken), std::string::npos) << message;
  EXPECT_NE(message.find("is a directory"), std::string::npos) << message;
  world().barrier();
  EXPECT_TRUE(fs::is_directory(taken));
  world().barrier();
  if (world().is_root()) fs::remove_all(dir);
}

namespace {
std::string open_error(const std::string& path) {
  try {
    io::H5File::open(path, world());
  } catch (const CollectiveError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Hdf5, MissingNotHdf5AndTruncatedFilesAreNamed) {
  EXPECT_EQ(open_error(shared_dir() + "/nope.h5"), shared_dir() + "/nope.h5: no such file");
  const std::string text = shared_dir() + "/text.h5";
  const std::string cut = shared_dir() + "/truncated.h5";
  const std::string full = shared_dir() + "/full.h5";
  write_fixture(full, 500);
  if (world().is_root()) {
    std::FILE* f = std::fopen(text.c_str(), "w");
    std::fputs("this is not HDF5\n", f);
    std::fclose(f);
    fs::copy_file(full, cut, fs::copy_options::overwrite_existing);
    fs::resize_file(cut, fs::file_size(full) / 2);
  }
  world().barrier();
  EXPECT_EQ(open_error(text), text + ": not an HDF5 file (no HDF5 signature found)");
  const std::string m = open_error(cut);
  EXPECT_EQ(m.rfind(cut + ": cannot open HDF5 file (truncated or corrupt?)", 0), 0u) << m;
}

TEST(Hdf5, WrongDtypeShapeAndNaNAreRejectedOnAllRanks) {
  const std::string path = shared_dir() + "/validate.h5";
  {
    const auto mine = par::BlockPartition::over(9, world()).range(world().rank());
    std::vector<double> x(mine.size() * 4, 1.0);
    // NaN only in the last sample, owned by the last rank.
    if (mine.contains(8)) x[(8 - mine.begin) * 4 + 2] = std::nan("");
    io::H5File f = io::H5File::create(path, world());
    io::write_samples(f, "/x", x, {4});
    f.commit();
  }
  io::H5File f = io::H5File::open(path, world());
  EXPECT_EQ(message([&] { io::read_samples<float>(f, "/x"); }),
            path + ":/x: expected dtype float32, found float64");
  EXPECT_EQ(message([&] { io::read_samples<double>(f, "/x", {{2, 2}, true}); }),
            path + ":/x: expected samples of shape [2, 2], found [4] (dataset shape [9, 4])");
  // Labels given one-hot ([N, k]) where one value per row is read: refused, not read as N·k values.
  EXPECT_EQ(message([&] { io::read_samples<double>(f, "/x", io::one_value_per_row(false)); }),
            path + ":/x: expected one value per row (shape [N]), found shape [9, 4]");
  EXPECT_EQ(message([&] { io::read_samples<double>(f, "/x"); }),
            path + ":/x: NaN value in sample 8 (element 2); expected finite values");
  EXPECT_EQ(message([&] { io::read_samples<double>(f, "/missing"); }),
            path + ": dataset '/missing' not found");
  EXPECT_EQ(message([&] { io::read_ragged<double>(f, "/x"); }),
            path + ":/x: expected a ragged series group with datasets 'values' and 'offsets'; 'values' not found");
  // Without the finiteness check the values come back as written, NaN included.
  io::SampleBlock<double> b;
  ASSERT_NO_THROW(b = io::read_samples<double>(f, "/x", {{}, false}));
  EXPECT_EQ(b.global_rows, 9u);
  for (std::uint64_t r = b.rows.begin; r < b.rows.end; ++r)
    for (int e = 0; e < 4; ++e) {
      const double v = b.row(r - b.rows.begin)[e];
      if (r == 8 && e == 2)
        EXPECT_TRUE(std::isnan(v));
      else
        EXPECT_EQ(v, 1.0) << "sample " << r << " element " << e;
    }
}

// widen_float32: a float32 dataset read as double, every value exact (as
// float64 holds every float32); other dtypes still refused, naming both.
TEST(Hdf5, Float32WidensToDoubleOnlyWhenAsked) {
  const std::string path = shared_dir() + "/widen.h5";
  const auto mine = par::BlockPartition::over(7, world()).range(world().rank());
  std::vector<float> x(mine.size() * 3);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.1f * static_cast<float>(mine.begin * 3 + i) - 0.7f;
  std::vector<std::int16_t> counts(mine.size(), 3);
  {
    io::H5File f = io::H5File::create(path, world());
    io::write_samples(f, "/x", x, {3});
    io::write_samples(f, "/counts", counts, {});
    f.commit();
  }
  io::H5File f = io::H5File::open(path, world());
  io::ReadOptions widen;
  widen.widen_float32 = true;
  const auto block = io::read_samples<double>(f, "/x", widen);
  ASSERT_EQ(block.data.size(), x.size());
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(block.data[i], static_cast<double>(x[i])) << i;
  EXPECT_EQ(block.sample_shape, std::vector<std::uint64_t>{3});
  EXPECT_EQ(message([&] { io::read_samples<double>(f, "/x"); }), path + ":/x: expected dtype float64, found float32");
  EXPECT_EQ(message([&] { io::read_samples<double>(f, "/counts", widen); }),
            path + ":/counts: expected dtype float32 or float64, found int16");
}

TEST(Hdf5, NameListsKeepCommasAndEmptyNames) {
  // Conditions such as "drug, 10 uM" and class names that are file paths keep
  // their commas; a name left empty keeps its place.
  const std::vector<std::string> names = {"DMSO", "drug, 10 uM", "", "/data/pdb/1abc,copy.pdb"};
  const std::string text = io::name_list_attribute(names);
  EXPECT_EQ(text, "DMSO\ndrug, 10 uM\n\n/data/pdb/1abc,copy.pdb");
  EXPECT_EQ(io::parse_name_list(text), names);
  EXPECT_EQ(io::parse_name_list("one"), std::vector<std::string>{"one"});
  EXPECT_EQ(io::parse_name_list("a\n"), (std::vector<std::string>{"a", ""}));  // a last name left empty
  EXPECT_TRUE(io::parse_name_list("").empty());
}

// h5py writes a str attribute as a variable-length UTF-8 string; HDF5
// converts between no character sets, so reading it as ASCII failed and
// read as "" (the class names of a structures file edited in Python).
TEST(Hdf5, VariableLengthUtf8AttributesAsH5pyWritesThem) {
  const std::string path = shared_dir() + "/h5py_attribute.h5";
  if (world().is_root()) {
    hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(file, "class_names", type, space, H5P_DEFAULT, H5P_DEFAULT);
    const char* text = "ring.pdb\nrod, \xc3\xa9t\xc3\xa9.pdb";
    H5Awrite(attr, type, &text);
    H5Aclose(attr), H5Sclose(space), H5Tclose(type), H5Fclose(file);
  }
  world().barrier();
  io::H5File f = io::H5File::open(path, world());
  EXPECT_EQ(f.read_string_attribute("/", "class_names"), "ring.pdb\nrod, \xc3\xa9t\xc3\xa9.pdb");
}
