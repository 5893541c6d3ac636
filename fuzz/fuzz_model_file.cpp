// Fuzzes the model file reader (io/model_file.h): any byte string as a .g4w file must either open
// (and then every blob it names reads back or fails its checksum with gemma4::Error) or fail with
// gemma4::Error; never a crash, an out-of-bounds read or a huge allocation.
#include "fuzz_util.h"
#include "io/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gemma4;
  const auto path = fuzz::scratch_dir() / "model.g4w";
  fuzz::write_file(path, fuzz::as_text(data, size));
  fuzz::expect_clean_error([&] {
    const io::ModelFile file = io::ModelFile::open(path);
    for (const io::ModelFileBlob& b : file.files()) {
      if (b.offset + b.bytes > file.size()) std::abort();
      fuzz::expect_clean_error([&] { (void)file.text(b.name); });
    }
    for (const io::ModelFileMatrix& m : file.matrices())
      if (m.offset + m.bytes > file.size()) std::abort();
    fuzz::expect_clean_error([&] { file.verify(); });
    fuzz::expect_clean_error([&] { (void)io::Checkpoint::open(path); });
  });
  return 0;
}
