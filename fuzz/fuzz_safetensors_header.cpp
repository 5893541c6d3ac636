// Fuzzes the safetensors header validation: any byte string as a .safetensors file must either
// open (and then every tensor view lies inside the mapping) or fail with gemma4::Error.
#include "fuzz_util.h"
#include "io/mapped_file.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gemma4;
  const auto path = fuzz::scratch_dir() / "model.safetensors";
  fuzz::write_file(path, fuzz::as_text(data, size));
  fuzz::expect_clean_error([&] {
    auto file = io::SafetensorsFile::open(path);
    if (file->mapping() == nullptr) std::abort();  // a native open always maps the file
    const uint8_t* begin = file->mapping()->data();
    const uint8_t* end = begin + file->mapping()->size();
    for (const io::TensorView& t : file->tensors()) {
      if (t.nbytes == 0) continue;
      if (t.data < begin || t.data + t.nbytes > end) std::abort();
      // Touch both ends: a view past the mapping faults here.
      volatile uint8_t first = t.data[0], last = t.data[t.nbytes - 1];
      (void)first;
      (void)last;
      if (static_cast<size_t>(t.numel()) * io::dtype_size(t.dtype) != t.nbytes) std::abort();
    }
  });
  return 0;
}
