// gqalut: every file gqalut writes is replaced atomically.
//
// The new content goes to a temporary file in the target's folder (so the
// rename cannot cross file systems), is flushed and fsync'ed, and is then
// renamed over the target. A run that fails or is killed before the rename
// leaves the old file exactly as it was; a failed run removes its temporary
// file (a killed one may leave a hidden ".NAME.tmp-*" beside the target).
#pragma once

#include <string>
#include <string_view>

namespace gqalut {

// A temporary file beside `path` that becomes `path` on commit().
// `what` names the file in messages ("table", "CSV", "plot"). Every failure
// throws std::invalid_argument "cannot write WHAT file 'PATH': REASON".
class AtomicFile {
 public:
  AtomicFile(std::string path, std::string what);
  ~AtomicFile();  // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Where the new content is written (for a tool that writes by name, such
  // as gnuplot: close() first, let it write, then commit()).
  const std::string& temp_path() const { return temp_; }
  void write(std::string_view data);
  void close();   // closes the descriptor (commit() does it too)
  void commit();  // fsync, rename over the target, fsync the folder

 private:
  [[noreturn]] void fail(const std::string& reason) const;
  std::string path_, what_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// Writes `data` to `path` atomically (see above).
void write_file_atomic(const std::string& path, std::string_view data, const std::string& what);

// Throws the same message as a failed write would if `path` cannot be
// replaced: its folder is missing or not writable, it is a directory, or it
// exists read-only. For checking every output before a long run.
void check_writable(const std::string& path, const std::string& what);

}  // namespace gqalut
