//===- trainer_flags.cpp - Trainer command-line flags ---------------------===//
//
// A deliberately tiny hand-written parser: the trainer has a dozen flags, and
// strict number parsing (whole string consumed, range checked, no silent
// wrap-around of "-1" into a huge seed) matters more than generality.
//
//===----------------------------------------------------------------------===//

#include "trainer_flags.h"
#include "file_checks.h"

#include <cerrno>
#include <cstdint>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace kiln::runtime {

namespace {

bool parseInt(const std::string &s, int64_t min, int64_t max, int64_t &out) {
  if (s.empty())
    return false;
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno || *end || v < min || v > max)
    return false;
  out = v;
  return true;
}

bool parseUint(const std::string &s, uint64_t &out) {
  // strtoull accepts "-1" and wraps it; a negative seed is a user mistake.
  if (s.empty() || s[0] == '-' || s[0] == '+')
    return false;
  errno = 0;
  char *end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno || *end)
    return false;
  out = v;
  return true;
}

bool parsePositiveFloat(const std::string &s, double &out) {
  if (s.empty())
    return false;
  errno = 0;
  char *end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (errno || *end || !std::isfinite(v) || v <= 0)
    return false;
  out = v;
  return true;
}

} // namespace

bool parseTrainerFlags(int argc, char **argv, TrainerFlags &flags, std::string &error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i] ? argv[i] : "";
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      error = "unexpected argument '" + printableExcerpt(arg) + "'";
      return false;
    }
    std::string name = arg, value;
    bool hasValue = false;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      hasValue = true;
    }
    auto takeValue = [&]() {
      if (hasValue)
        return true;
      if (i + 1 >= argc || !argv[i + 1]) {
        error = "missing value for " + name;
        return false;
      }
      value = argv[++i];
      return true;
    };
    auto bad = [&](const char *expected) {
      error = "invalid value '" + printableExcerpt(value) + "' for " + name + " (expected " +
              expected + ")";
      return false;
    };

    if (name == "--epochs") {
      if (!takeValue())
        return false;
      // Epoch numbers are passed around as int (DataLoader::startEpoch).
      if (!parseInt(value, 0, INT32_MAX, flags.epochs))
        return bad("an integer in [0, 2^31)");
    } else if (name == "--lr") {
      if (!takeValue())
        return false;
      // The step takes a float32 rate: 1e-50 would become 0 and 1e39 infinity.
      if (!parsePositiveFloat(value, flags.lr) || flags.lr < FLT_MIN || flags.lr > FLT_MAX)
        return bad("a finite number > 0 that float32 can hold, 1.2e-38 to 3.4e+38");
      flags.lrSet = true;
    } else if (name == "--lr-schedule") {
      if (!takeValue())
        return false;
      flags.lrSchedule = value;
    } else if (name == "--seed") {
      if (!takeValue())
        return false;
      if (!parseUint(value, flags.seed))
        return bad("an unsigned 64-bit integer");
      flags.seedSet = true;
    } else if (name == "--data-dir") {
      if (!takeValue())
        return false;
      if (value.empty())
        return bad("a directory");
      flags.dataDir = value;
    } else if (name == "--device") {
      if (!takeValue())
        return false;
      if (value != "cpu" && value != "cuda")
        return bad("cpu or cuda");
      flags.device = value;
    } else if (name == "--max-steps") {
      if (!takeValue())
        return false;
      if (!parseInt(value, 0, INT64_MAX, flags.maxSteps))
        return bad("an integer >= 0");
    } else if (name == "--save-every") {
      if (!takeValue())
        return false;
      if (!parseInt(value, 1, INT64_MAX, flags.saveEvery))
        return bad("an integer >= 1");
    } else if (name == "--threads") {
      if (!takeValue())
        return false;
      if (!parseInt(value, 1, 1024, flags.threads))
        return bad("an integer in [1, 1024]");
    } else if (name == "--max-csv-bytes") {
      if (!takeValue())
        return false;
      int64_t bytes = 0;
      if (!parseInt(value, 1, INT64_MAX, bytes))
        return bad("an integer >= 1");
      flags.maxCsvBytes = static_cast<uint64_t>(bytes);
    } else if (name == "--log-every") {
      if (!takeValue())
        return false;
      if (!parseInt(value, 0, INT64_MAX, flags.logEvery))
        return bad("an integer >= 0");
    } else if (name == "--loss-csv") {
      if (!takeValue())
        return false;
      if (value.empty())
        return bad("a file name");
      flags.lossCsv = value;
    } else if (name == "--save" || name == "--resume" || name == "--init-from" ||
               name == "--dump-logits" || name == "--train-csv" || name == "--test-csv" ||
               name == "--dump-observations" || name == "--metrics") {
      if (!takeValue())
        return false;
      if (value.empty())
        return bad("a file name");
      std::string *file = name == "--save"        ? &flags.save
                          : name == "--resume"    ? &flags.resume
                          : name == "--init-from" ? &flags.initFrom
                          : name == "--train-csv" ? &flags.trainCsv
                          : name == "--test-csv"  ? &flags.testCsv
                          : name == "--dump-logits" ? &flags.dumpLogits
                          : name == "--metrics"     ? &flags.metrics
                                                    : &flags.dumpObservations;
      *file = value;
    } else if (name == "--label-column") {
      if (!takeValue())
        return false;
      if (value.empty())
        return bad("a column name");
      flags.labelColumn = value;
    } else if (name == "--full-precision" || name == "--partial" || name == "--cuda-graph") {
      if (hasValue) {
        error = name + " takes no value";
        return false;
      }
      (name == "--partial"      ? flags.partial
       : name == "--cuda-graph" ? flags.cudaGraph
                                : flags.fullPrecision) = true;
    } else {
      error = "unknown option '" + printableExcerpt(name) + "' (see --help)";
      return false;
    }
  }
  if (!flags.resume.empty() && !flags.initFrom.empty()) {
    error = "--resume and --init-from exclude each other (--resume restores the whole "
            "state, --init-from only the parameters)";
    return false;
  }
  if (flags.trainCsv.empty() != flags.testCsv.empty() ||
      (!flags.trainCsv.empty() && flags.labelColumn.empty()) ||
      (flags.trainCsv.empty() && !flags.labelColumn.empty())) {
    error = "--train-csv, --test-csv and --label-column go together";
    return false;
  }
  if (flags.saveEvery > 0 && flags.save.empty()) {
    error = "--save-every needs --save FILE to write to";
    return false;
  }
  if (flags.partial && flags.initFrom.empty()) {
    error = "--partial applies to --init-from, which is not given";
    return false;
  }
  if (flags.cudaGraph && flags.device != "cuda") {
    error = "--cuda-graph applies to --device cuda";
    return false;
  }
  return true;
}

void printTrainerUsage(std::FILE *out, const char *prog, const char *modelName,
                       double defaultLr, const std::string &defaultDataDir) {
  std::fprintf(out,
               "usage: %s [options]\n"
               "Trains the kiln-compiled model '%s' on Fashion-MNIST, or on CSV tables.\n"
               "\n"
               "options:\n"
               "  --epochs N       total training epochs (default 5; 0 = evaluate only);\n"
               "                   with --resume the checkpoint's epochs count towards N:\n"
               "                   a run saved after epoch 2 and resumed with --epochs 5\n"
               "                   trains epochs 3, 4 and 5\n"
               "  --lr X           learning rate (default %g, the model's default)\n"
               "  --lr-schedule S  per-step schedule of the rate, e.g. cosine:10000:1e-5,\n"
               "                   step:2000:0.1, warmup:500:0.01,cosine:9500 (lr_schedule.h)\n"
               "  --seed S         seed for initialization and shuffling (default 0)\n"
               "  --data-dir DIR   directory with the Fashion-MNIST IDX files\n"
               "                   (default %s)\n"
               "  --train-csv FILE, --test-csv FILE, --label-column NAME\n"
               "                   train and test on CSV tables with a header row: NAME\n"
               "                   is the target (a class index, or a value for\n"
               "                   regression and binary models), the other columns\n"
               "                   the features (docs/data.md)\n"
               "  --max-csv-bytes N  refuse CSV files larger than N bytes (default 2 GiB)\n"
               "  --max-steps N    at most N steps per epoch (default 0 = all)\n"
               "  --log-every N    progress line every N steps (default 50; 0 = none)\n"
               "  --loss-csv FILE  write 'step,epoch,loss' for every logged step\n"
               "  --metrics FILE   write a CSV with a row per logged step (train loss, lr,\n"
               "                   samples/s) and per epoch (also test loss and accuracy),\n"
               "                   replaced after every epoch (docs/metrics.md); draw it\n"
               "                   with scripts/kiln-plot FILE -o curves.png\n"
               "  (on a terminal a bar with the epoch's ETA sits below the progress lines)\n"
               "  --save FILE      save a safetensors checkpoint (parameters, optimizer\n"
               "                   buffers, epoch) after every epoch, or at the end if\n"
               "                   no epoch runs; FILE must be a regular file or a new path\n"
               "  --save-every N   with --save: also save every N steps (the checkpoint\n"
               "                   records the step, and --resume continues there)\n"
               "  --resume FILE    continue the run saved in FILE where it stopped, up to\n"
               "                   --epochs in total (and with its seed and lr unless\n"
               "                   --seed/--lr are given)\n"
               "  --init-from FILE load only the parameters from FILE (fine-tuning; FILE\n"
               "                   may be a PyTorch state_dict saved as safetensors)\n"
               "  --partial        with --init-from: load the parameters FILE has, keep the\n"
               "                   initialization of those it lacks (a new head), ignore\n"
               "                   tensors the model lacks (PyTorch's strict=False)\n"
               "  --dump-logits FILE  write the final test-set logits and labels to FILE\n"
               "                   (safetensors: 'logits' F32 [N, classes], 'labels' I32 [N],\n"
               "                   or 'targets' F32 [N, outputs] for regression/binary)\n"
               "  --dump-observations FILE  write what the model's observe() calls stored\n"
               "                   in the last training step (values and gradients)\n"
               "  --device D       cpu (default) or cuda: train on the first NVIDIA GPU\n"
               "                   (a trainer built with kiln_add_model(... TARGET cuda))\n"
               "  --cuda-graph     with --device cuda: record a step's kernel launches once\n"
               "                   as a CUDA graph and replay it (fewer launch costs)\n"
               "  --full-precision print losses and accuracies with 17 significant digits\n"
               "  --threads N      threads for the model's parallel loops (default: every\n"
               "                   core); results do not depend on N\n"
               "  --help           show this help\n",
               prog, modelName, defaultLr, defaultDataDir.c_str());
}

} // namespace kiln::runtime
