#include "gqalut/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/text.hpp"

namespace gqalut {
namespace {

std::string folder_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

[[noreturn]] void fail_at(const std::string& what, const std::string& path, const std::string& reason) {
  throw std::invalid_argument(fmt::format("cannot write {} file {}: {}", what, quote(path, 200), reason));
}

// The reasons a target cannot be replaced that the rename would not report
// (or would report only after the work is done).
void check_target(const std::string& path, const std::string& what, struct stat* st, bool* exists) {
  if (path.empty()) fail_at(what, path, "empty file name");
  if (path.back() == '/') fail_at(what, path, "names a directory");
  *exists = ::stat(path.c_str(), st) == 0;
  if (*exists) {
    if (S_ISDIR(st->st_mode)) fail_at(what, path, "is a directory");
    if (!S_ISREG(st->st_mode)) fail_at(what, path, "is not a regular file");
    if (::access(path.c_str(), W_OK) != 0) fail_at(what, path, "is read-only");
  }
  struct stat dst {};
  std::string dir = folder_of(path);
  if (::stat(dir.c_str(), &dst) != 0) fail_at(what, path, fmt::format("folder {} does not exist", quote(dir, 200)));
  if (!S_ISDIR(dst.st_mode)) fail_at(what, path, fmt::format("{} is not a folder", quote(dir, 200)));
}

}  // namespace

AtomicFile::AtomicFile(std::string path, std::string what) : path_(std::move(path)), what_(std::move(what)) {
  struct stat st {};
  bool exists = false;
  check_target(path_, what_, &st, &exists);
  std::string stem = folder_of(path_) + "/." + base_of(path_) + ".tmp-" + std::to_string(::getpid()) + "-";
  for (int i = 0; fd_ < 0; ++i) {
    temp_ = stem + std::to_string(i);
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && (errno != EEXIST || i >= 1000)) {
      int err = errno;
      temp_.clear();
      fail(fmt::format("cannot create a file in {}: {}", quote(folder_of(path_), 200), std::strerror(err)));
    }
  }
  // Replacing a file keeps its permissions; a new one gets 0666 less the umask (as open() would).
  if (exists) (void)::fchmod(fd_, st.st_mode & 07777);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::fail(const std::string& reason) const { fail_at(what_, path_, reason); }

void AtomicFile::write(std::string_view data) {
  if (fd_ < 0) fail("the temporary file is closed");
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(std::strerror(n < 0 ? errno : EIO));
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void AtomicFile::close() {
  if (fd_ < 0) return;
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail(std::strerror(errno));
}

void AtomicFile::commit() {
  if (committed_) return;
  if (fd_ < 0) {  // written by another program: reopen to flush it to disk
    fd_ = ::open(temp_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail(std::strerror(errno));
  }
  if (::fsync(fd_) != 0 && errno != EINVAL) fail(std::strerror(errno));
  close();
  struct stat st {};
  bool exists = false;
  check_target(path_, what_, &st, &exists);  // it may have changed while we worked
  if (::rename(temp_.c_str(), path_.c_str()) != 0) fail(std::strerror(errno));
  committed_ = true;
  int dfd = ::open(folder_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);  // the rename itself reaches the disk
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, std::string_view data, const std::string& what) {
  AtomicFile f(path, what);
  f.write(data);
  f.commit();
}

void check_writable(const std::string& path, const std::string& what) {
  AtomicFile probe(path, what);  // creating the temporary file proves the folder is writable
}

}  // namespace gqalut
