// Input-deck resolution: defaults < deck < --set, types, ranges, choices,
// unknown keys with suggestions, one-line errors naming the deck and key.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "phenoscale/core/config.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/first_repeat.hpp"

using phenoscale::ConfigError;
using phenoscale::core::Config;
using phenoscale::core::Schema;

namespace {

Schema schema() {
  Schema s;
  s.integer("run.seed", 1, "seed", 0)
      .real("simulate.snr", 0.1, "signal-to-noise ratio", 0.0)
      .real("simulate.tilt_max_deg", 60, "tilt range", 0, 90)
      .integer("train.epochs", 20, "epochs", 1, 10000)
      .string("train.model", "dsrf3d", "network", {"dsrf3d", "inception3d"})
      .boolean("train.augment", false, "augment")
      .real_list("simulate.snr_grid", {1000, 0.5}, "grid", 0.0)
      .string_list("sweep.classes", {}, "classes");
  return s;
}

std::string message_of(const std::string& deck, std::vector<std::string> overrides = {}) {
  try {
    Config::resolve(schema(), deck, "deck.toml", overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Config, DefaultsDeckAndOverridesLayerInOrder) {
  const Config c = Config::resolve(schema(), "[simulate]\nsnr = 0.05\n[train]\nepochs = 5\n",
                                   "deck.toml", {"train.epochs=7", "train.model=inception3d"});
  EXPECT_EQ(c.integer("run.seed"), 1);           // default
  EXPECT_DOUBLE_EQ(c.real("simulate.snr"), 0.05);  // deck
  EXPECT_EQ(c.integer("train.epochs"), 7);        // override beats deck
  EXPECT_EQ(c.string("train.model"), "inception3d");
  EXPECT_FALSE(c.is_set("run.seed"));
  EXPECT_TRUE(c.is_set("simulate.snr"));
}

TEST(Config, IntegersAreAcceptedWhereNumbersAreExpected) {
  const Config c = Config::resolve(schema(), "simulate.tilt_max_deg = 45\nsimulate.snr_grid = [1, 0.5]", "", {});
  EXPECT_DOUBLE_EQ(c.real("simulate.tilt_max_deg"), 45.0);
  EXPECT_EQ(c.real_list("simulate.snr_grid"), (std::vector<double>{1.0, 0.5}));
}

TEST(Config, UnknownKeySuggestsNearest) {
  EXPECT_EQ(message_of("[simulate]\nsnrr = 1\n"),
            "deck.toml: unknown key 'simulate.snrr' (did you mean 'simulate.snr'?)");
  // A key in the wrong section is found by its name.
  EXPECT_EQ(message_of("[train]\nsnr = 1\n"),
            "deck.toml: unknown key 'train.snr' (did you mean 'simulate.snr'?)");
  EXPECT_EQ(message_of("[zzz]\nqqqqqqqqqq = 1\n"), "deck.toml: unknown key 'zzz.qqqqqqqqqq'");
}

TEST(Config, OutOfRangeNamesKeyValueAndRange) {
  EXPECT_EQ(message_of("[simulate]\ntilt_max_deg = 95\n"),
            "deck.toml: key 'simulate.tilt_max_deg' = 95 is out of range: expected a value in [0, 90]");
  EXPECT_EQ(message_of("", {"train.epochs=0"}),
            "--set: key 'train.epochs' = 0 is out of range: expected a value in [1, 10000]");
  EXPECT_EQ(message_of("run.seed = -3"),
            "deck.toml: key 'run.seed' = -3 is out of range: expected a value >= 0");
  EXPECT_EQ(message_of("simulate.snr_grid = [1, -2]"),
            "deck.toml: key 'simulate.snr_grid' = -2 is out of range: expected a value >= 0");
}

TEST(Config, WrongTypeNamesExpectedAndFound) {
  EXPECT_EQ(message_of("[train]\nepochs = \"many\"\n"),
            "deck.toml: key 'train.epochs': expected a value of type integer, found 'many'");
  EXPECT_EQ(message_of("", {"train.epochs=1.5"}),
            "--set train.epochs=1.5: expected a value of type integer for 'train.epochs', found '1.5'");
  EXPECT_EQ(message_of("", {"train.augment=maybe"}),
            "--set train.augment=maybe: expected boolean for 'train.augment', found 'maybe'");
}

TEST(Config, ChoicesAreEnforced) {
  EXPECT_EQ(message_of("", {"train.model=resnet"}),
            "--set: key 'train.model' = \"resnet\" is not one of: dsrf3d, inception3d");
}

TEST(Config, SyntaxErrorsCarryLineAndColumn) {
  const std::string m = message_of("[simulate]\nsnr = = 3\n");
  EXPECT_EQ(m.rfind("deck.toml:2:", 0), 0u) << m;
  EXPECT_NE(m.find("invalid TOML"), std::string::npos) << m;
}

TEST(Config, MalformedOverride) {
  EXPECT_EQ(message_of("", {"train.epochs"}), "--set train.epochs: expected section.key=value");
}

TEST(Config, ResolvedDeckRoundTrips) {
  const Config c = Config::resolve(schema(), "", "", {"simulate.snr=0.03", "sweep.classes=[\"a\", \"b\"]"});
  const Config again = Config::resolve(schema(), c.to_toml(), "resolved", {});
  EXPECT_EQ(again.to_toml(), c.to_toml());
  EXPECT_DOUBLE_EQ(again.real("simulate.snr"), 0.03);
  EXPECT_EQ(again.string_list("sweep.classes"), (std::vector<std::string>{"a", "b"}));
  EXPECT_NE(c.to_toml().find("[train]\nepochs = 20\n"), std::string::npos) << c.to_toml();
}

TEST(Config, SchemaRejectsBadDefinitions) {
  Schema s;
  EXPECT_THROW(s.integer("nosection", 1, ""), std::logic_error);
  s.integer("a.b", 1, "");
  EXPECT_THROW(s.integer("a.b", 1, ""), std::logic_error);
  EXPECT_THROW(s.integer("a.c", -1, "", 0), ConfigError);
}

TEST(Levenshtein, KnownDistances) {
  EXPECT_EQ(phenoscale::core::levenshtein("kitten", "sitting"), 3u);
  EXPECT_EQ(phenoscale::core::levenshtein("", "abc"), 3u);
  EXPECT_EQ(phenoscale::core::levenshtein("same", "same"), 0u);
}

TEST(FirstRepeat, IndexOfTheFirstElementNamedBefore) {
  using phenoscale::core::first_repeat;
  EXPECT_EQ(first_repeat(std::vector<int>{}), 0u);
  EXPECT_EQ(first_repeat(std::vector<int>{7}), 1u);
  EXPECT_EQ(first_repeat(std::vector<int>{1, 2, 3}), 3u);
  EXPECT_EQ(first_repeat(std::vector<int>{1, 2, 1, 2}), 2u);
  EXPECT_EQ(first_repeat(std::vector<int>{4, 5, 5, 4}), 2u);
  EXPECT_EQ(first_repeat(std::vector<std::string>{"DMSO", "drug", "CK666", "drug"}), 3u);
}
