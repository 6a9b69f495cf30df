// Running the hardware tools: fork + exec in a process group of their own, so that a time limit
// kills the tool and everything it started (vvp under iverilog's driver, abc under yosys).
#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace gqalut::hw::detail {

namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) throw std::runtime_error(fmt::format("cannot write {}", path));
}

std::string which(const std::string& want) {
  if (want.empty()) return {};
  if (want.find('/') != std::string::npos) return ::access(want.c_str(), X_OK) == 0 ? want : std::string();
  const char* path = std::getenv("PATH");
  if (!path) return {};
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    fs::path p = fs::path(dir) / want;
    std::error_code ec;
    if (::access(p.c_str(), X_OK) == 0 && !fs::is_directory(p, ec)) return p.string();
  }
  return {};
}

std::string make_temp_dir(const std::string& tag) {
  const char* t = std::getenv("TMPDIR");
  std::string tmpl = fmt::format("{}/gqalut-{}-XXXXXX", t && *t ? t : "/tmp", tag);
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data()))
    throw std::runtime_error(fmt::format("cannot create a scratch folder {}: {}", tmpl, std::strerror(errno)));
  return buf.data();
}

ProcessResult run_process(const std::vector<std::string>& args, const std::string& cwd, const std::string& log_path,
                          double timeout_s) {
  ProcessResult r;
  if (args.empty()) return r;
  // Everything the child needs is prepared before fork (only async-signal-safe calls after it).
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    r.log = fmt::format("cannot write the log {}: {}", log_path, std::strerror(errno));
    return r;
  }
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int pipe_fd[2];  // the child reports a failed exec through it (closed on a successful exec)
  if (::pipe2(pipe_fd, O_CLOEXEC) != 0) {
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    r.log = fmt::format("cannot start {}: {}", args[0], std::strerror(errno));
    return r;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    int err = 0;
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) err = errno;
    if (!err) {
      ::execvp(argv[0], argv.data());
      err = errno;
    }
    ssize_t n = ::write(pipe_fd[1], &err, sizeof err);
    (void)n;
    ::_exit(127);
  }
  ::close(pipe_fd[1]);
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) {
    ::close(pipe_fd[0]);
    r.log = fmt::format("cannot start {}: {}", args[0], std::strerror(errno));
    return r;
  }
  ::setpgid(pid, pid);  // also from here: no race with the kill below
  int child_err = 0;
  ssize_t got = 0;
  do got = ::read(pipe_fd[0], &child_err, sizeof child_err);
  while (got < 0 && errno == EINTR);
  ::close(pipe_fd[0]);
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  for (auto wait = std::chrono::milliseconds(1);;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {
      status = -1;
      break;
    }
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (timeout_s > 0 && elapsed > timeout_s) {
      ::kill(-pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(wait);
    if (wait < std::chrono::milliseconds(50)) wait *= 2;
  }
  r.log = read_text(log_path);
  if (got == sizeof child_err) {
    r.log += fmt::format("cannot run {}{}: {}\n", args[0], cwd.empty() ? "" : " in " + cwd, std::strerror(child_err));
    return r;
  }
  r.started = true;
  if (!r.timed_out && status >= 0 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  return r;
}

}  // namespace gqalut::hw::detail
