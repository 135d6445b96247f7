#include "tdxctl/image/ext4_unpack.hpp"
#include "tdxctl/core/unique_fd.hpp"

#include "tdxctl/core/error.hpp"
#include "tdxctl/ext2fs/api.hpp"

#include <ext2fs/ext2_fs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string_view>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace tdx::image {

namespace fs = std::filesystem;
using core::Category;
using core::Failure;

namespace {

struct FsCloser {
  void operator()(struct struct_ext2_filsys* fs) const { ext2fs::api().ext2fs_close_free(&fs); }
};
using FsHandle = std::unique_ptr<struct struct_ext2_filsys, FsCloser>;

Failure damaged(const fs::path& image, const std::string& what, errcode_t rc) {
  return Failure(Category::invalid_input, "image.ext4.read",
                 image.string() + ": " + what + ": " + ext2fs::api().error_message(rc),
                 "check the base image with 'e2fsck -fn' (it may be damaged or not ext2/3/4)");
}

Failure write_error(const fs::path& where, const std::string& what) {
  return Failure(Category::failed, "image.ext4.unpack", where.string() + ": " + what + ": " + std::strerror(errno));
}

FsHandle open_fs(const fs::path& image) {
  ext2_filsys raw = nullptr;
  errcode_t rc = ext2fs::api().ext2fs_open2(image.c_str(), nullptr, EXT2_FLAG_64BITS, 0, 0,
                              ext2fs::api().unix_io_manager, &raw);
  if (rc) throw damaged(image, "not a readable ext2/3/4 filesystem", rc);
  return FsHandle(raw);
}

Ext4Facts facts_of(ext2_filsys fs) {
  Ext4Facts f;
  char uuid[37];
  const auto* u = fs->super->s_uuid;
  std::snprintf(uuid, sizeof uuid, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
                u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  f.uuid = uuid;
  const auto* name = reinterpret_cast<const char*>(fs->super->s_volume_name);
  f.label.assign(name, strnlen(name, sizeof fs->super->s_volume_name));
  f.block_size = fs->blocksize;
  f.block_count = ext2fs::api().ext2fs_blocks_count(fs->super);
  f.inode_size = EXT2_INODE_SIZE(fs->super);
  return f;
}

// A timestamp with its extra epoch bits and nanoseconds (inodes > 128 bytes).
timespec inode_time(const ext2_inode_large& inode, bool large, uint32_t seconds, uint32_t extra, size_t extra_offset) {
  timespec t{static_cast<int32_t>(seconds), 0};
  if (large && size_t{EXT2_GOOD_OLD_INODE_SIZE} + inode.i_extra_isize >= extra_offset + sizeof(uint32_t)) {
    t.tv_sec += static_cast<time_t>(extra & EXT4_EPOCH_MASK) << 32;
    t.tv_nsec = static_cast<long>(extra >> EXT4_EPOCH_BITS);
  }
  return t;
}

struct Entry {
  std::string name;
  ext2_ino_t ino;
};

class Unpacker {
public:
  Unpacker(ext2_filsys fs, fs::path image, fs::path dest)
      : m_fs(fs), m_image(std::move(image)), m_dest(std::move(dest)), m_buf(1 << 20) {}

  uint64_t files() const { return m_files; }
  int64_t newest_mtime() const { return m_newest; }

  void root() {
    core::UniqueFd dir(::open(m_dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dir.get() < 0) throw write_error(m_dest, "cannot open");
    m_seen_dirs.insert(EXT2_ROOT_INO);
    directory(EXT2_ROOT_INO, dir.get(), "");
    auto inode = read_inode(EXT2_ROOT_INO);
    apply_metadata(EXT2_ROOT_INO, inode, dir.get(), m_dest);
  }

private:
  ext2_inode_large read_inode(ext2_ino_t ino) {
    ext2_inode_large inode{};
    errcode_t rc = ext2fs::api().ext2fs_read_inode_full(m_fs, ino, reinterpret_cast<ext2_inode*>(&inode), sizeof inode);
    if (rc) throw damaged(m_image, "reading inode " + std::to_string(ino), rc);
    return inode;
  }

  std::vector<Entry> list(ext2_ino_t dir) {
    std::vector<Entry> entries;
    struct Ctx {
      std::vector<Entry>* out;
    } ctx{&entries};
    auto cb = [](ext2_ino_t, int, ext2_dir_entry* d, int, int, char*, void* priv) -> int {
      auto* c = static_cast<Ctx*>(priv);
      std::string name(d->name, ext2fs_dirent_name_len(d));
      if (name != "." && name != "..") c->out->push_back({std::move(name), d->inode});
      return 0;
    };
    errcode_t rc = ext2fs::api().ext2fs_dir_iterate2(m_fs, dir, 0, nullptr, cb, &ctx);
    if (rc) throw damaged(m_image, "reading directory inode " + std::to_string(dir), rc);
    return entries;
  }

  void directory(ext2_ino_t dir_ino, int dirfd, const std::string& rel) {
    for (auto& e : list(dir_ino)) {
      if (e.name.empty() || e.name.find('/') != std::string::npos || e.name.find('\0') != std::string::npos)
        throw Failure(Category::invalid_input, "image.ext4.name",
                      m_image.string() + ": directory /" + rel + " holds an invalid name");
      if (rel.empty() && e.name == "lost+found") continue;
      entry(e, dirfd, rel.empty() ? e.name : rel + "/" + e.name);
    }
  }

  void entry(const Entry& e, int dirfd, const std::string& rel) {
    auto inode = read_inode(e.ino);
    auto mode = inode.i_mode;
    fs::path host = m_dest / rel;
    ++m_files;
    if (!LINUX_S_ISDIR(mode) && inode.i_links_count > 1) {
      auto first = m_links.find(e.ino);
      if (first != m_links.end()) {
        if (::linkat(AT_FDCWD, (m_dest / first->second).c_str(), dirfd, e.name.c_str(), 0) != 0)
          throw write_error(host, "cannot hard-link to " + first->second);
        return;
      }
      m_links.emplace(e.ino, rel);
    }
    if (LINUX_S_ISDIR(mode)) {
      if (!m_seen_dirs.insert(e.ino).second)
        throw Failure(Category::invalid_input, "image.ext4.loop",
                      m_image.string() + ": directory /" + rel + " is reached twice (a directory loop)");
      if (::mkdirat(dirfd, e.name.c_str(), 0700) != 0) throw write_error(host, "cannot create directory");
      core::UniqueFd sub(::openat(dirfd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.get() < 0) throw write_error(host, "cannot open directory");
      directory(e.ino, sub.get(), rel);
      apply_metadata(e.ino, inode, sub.get(), host); // after the children: their creation moved its mtime
    } else if (LINUX_S_ISREG(mode)) {
      core::UniqueFd out(::openat(dirfd, e.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (out.get() < 0) throw write_error(host, "cannot create");
      copy_content(e.ino, inode, out.get(), host);
      apply_metadata(e.ino, inode, out.get(), host);
    } else if (LINUX_S_ISLNK(mode)) {
      auto target = symlink_target(e.ino, inode);
      if (::symlinkat(target.c_str(), dirfd, e.name.c_str()) != 0) throw write_error(host, "cannot create symlink");
      apply_metadata(e.ino, inode, -1, host);
    } else if (LINUX_S_ISCHR(mode) || LINUX_S_ISBLK(mode) || LINUX_S_ISFIFO(mode) || LINUX_S_ISSOCK(mode)) {
      dev_t dev = 0;
      if (LINUX_S_ISCHR(mode) || LINUX_S_ISBLK(mode)) {
        // The old 8:8 encoding in i_block[0], else the new one in i_block[1].
        if (inode.i_block[0])
          dev = makedev((inode.i_block[0] >> 8) & 255, inode.i_block[0] & 255);
        else
          dev = makedev((inode.i_block[1] & 0xfff00) >> 8, (inode.i_block[1] & 0xff) | ((inode.i_block[1] >> 12) & 0xfff00));
      }
      mode_t type = LINUX_S_ISCHR(mode) ? S_IFCHR : LINUX_S_ISBLK(mode) ? S_IFBLK : LINUX_S_ISFIFO(mode) ? S_IFIFO : S_IFSOCK;
      if (::mknodat(dirfd, e.name.c_str(), type | 0600, dev) != 0) throw write_error(host, "cannot create node");
      apply_metadata(e.ino, inode, -1, host);
    } else {
      throw Failure(Category::invalid_input, "image.ext4.type",
                    m_image.string() + ": /" + rel + " has an unknown file type");
    }
  }

  void copy_content(ext2_ino_t ino, ext2_inode_large& inode, int out, const fs::path& host) {
    ext2_file_t file = nullptr;
    errcode_t rc = ext2fs::api().ext2fs_file_open2(m_fs, ino, reinterpret_cast<ext2_inode*>(&inode), 0, &file);
    if (rc) throw damaged(m_image, "opening " + host.string(), rc);
    uint64_t size = EXT2_I_SIZE(&inode), done = 0;
    while (done < size) {
      unsigned int got = 0;
      rc = ext2fs::api().ext2fs_file_read(file, m_buf.data(), static_cast<unsigned>(m_buf.size()), &got);
      if (rc || got == 0) break;
      // All-zero runs stay holes: the tree (and mke2fs -d after it) keeps sparse files sparse.
      bool zero = std::all_of(m_buf.begin(), m_buf.begin() + got, [](char c) { return c == 0; });
      if (zero) {
        if (::lseek(out, got, SEEK_CUR) < 0) throw write_error(host, "cannot seek");
      } else {
        for (unsigned int w = 0; w < got;) {
          ssize_t n = ::write(out, m_buf.data() + w, got - w);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) throw write_error(host, "cannot write");
          w += static_cast<unsigned>(n);
        }
      }
      done += got;
    }
    ext2fs::api().ext2fs_file_close(file);
    if (rc) throw damaged(m_image, "reading " + host.string(), rc);
    if (done != size)
      throw Failure(Category::invalid_input, "image.ext4.short",
                    m_image.string() + ": " + host.string() + " is shorter than its inode says");
    if (::ftruncate(out, static_cast<off_t>(size)) != 0) throw write_error(host, "cannot set the size");
  }

  std::string symlink_target(ext2_ino_t ino, ext2_inode_large& inode) {
    uint64_t size = EXT2_I_SIZE(&inode);
    if (size == 0 || size >= 4096)
      throw Failure(Category::invalid_input, "image.ext4.symlink",
                    m_image.string() + ": symlink inode " + std::to_string(ino) + " has length " + std::to_string(size));
    if (ext2fs::api().ext2fs_is_fast_symlink(reinterpret_cast<ext2_inode*>(&inode)))
      return std::string(reinterpret_cast<const char*>(inode.i_block), strnlen(reinterpret_cast<const char*>(inode.i_block), size));
    ext2_file_t file = nullptr;
    errcode_t rc = ext2fs::api().ext2fs_file_open2(m_fs, ino, reinterpret_cast<ext2_inode*>(&inode), 0, &file);
    unsigned int got = 0;
    if (!rc) rc = ext2fs::api().ext2fs_file_read(file, m_buf.data(), static_cast<unsigned>(size), &got);
    if (file) ext2fs::api().ext2fs_file_close(file);
    if (rc || got != size) throw damaged(m_image, "reading symlink inode " + std::to_string(ino), rc);
    std::string target(m_buf.data(), got);
    if (target.find('\0') != std::string::npos)
      throw Failure(Category::invalid_input, "image.ext4.symlink", m_image.string() + ": a symlink target holds NUL");
    return target;
  }

  // Owner, then mode (a chown clears setuid/setgid), then extended attributes
  // (a chown clears security.capability), then times (everything else moved them).
  void apply_metadata(ext2_ino_t ino, const ext2_inode_large& inode, int fd, const fs::path& host) {
    uid_t uid = inode_uid(inode);
    gid_t gid = inode_gid(inode);
    bool link = LINUX_S_ISLNK(inode.i_mode);
    if (fd >= 0 ? ::fchown(fd, uid, gid) : ::lchown(host.c_str(), uid, gid)) throw write_error(host, "cannot chown");
    if (!link && (fd >= 0 ? ::fchmod(fd, inode.i_mode & 07777) : ::chmod(host.c_str(), inode.i_mode & 07777)))
      throw write_error(host, "cannot chmod");
    copy_xattrs(ino, fd, host);
    bool large = EXT2_INODE_SIZE(m_fs->super) > EXT2_GOOD_OLD_INODE_SIZE;
    timespec times[2] = {
        inode_time(inode, large, inode.i_atime, inode.i_atime_extra, offsetof(ext2_inode_large, i_atime_extra)),
        inode_time(inode, large, inode.i_mtime, inode.i_mtime_extra, offsetof(ext2_inode_large, i_mtime_extra))};
    m_newest = std::max<int64_t>(m_newest, times[1].tv_sec);
    if (fd >= 0 ? ::futimens(fd, times) : ::utimensat(AT_FDCWD, host.c_str(), times, AT_SYMLINK_NOFOLLOW))
      throw write_error(host, "cannot set times");
  }

  // Names from the iteration, values through ext2fs_xattr_get: only that
  // converts POSIX ACLs from ext4's on-disk layout to the one setxattr takes.
  void copy_xattrs(ext2_ino_t ino, int fd, const fs::path& host) {
    ext2_xattr_handle* h = nullptr;
    errcode_t rc = ext2fs::api().ext2fs_xattrs_open(m_fs, ino, &h);
    if (rc) throw damaged(m_image, "extended attributes of " + host.string(), rc);
    rc = ext2fs::api().ext2fs_xattrs_read(h);
    std::vector<std::string> names;
    if (!rc)
      ext2fs::api().ext2fs_xattrs_iterate(
          h,
          [](char* name, char*, size_t, void* priv) -> int {
            if (std::string_view(name) != "system.data") // inline data, not an attribute
              static_cast<std::vector<std::string>*>(priv)->emplace_back(name);
            return 0;
          },
          &names);
    int error = 0;
    std::string failed;
    for (auto& name : names) {
      if (rc) break;
      void* value = nullptr;
      size_t len = 0;
      rc = ext2fs::api().ext2fs_xattr_get(h, name.c_str(), &value, &len);
      if (rc) break;
      int r = fd >= 0 ? ::fsetxattr(fd, name.c_str(), value, len, 0) : ::lsetxattr(host.c_str(), name.c_str(), value, len, 0);
      if (r != 0 && !error) {
        error = errno;
        failed = name;
      }
      ext2fs_free_mem(&value);
    }
    ext2fs::api().ext2fs_xattrs_close(&h);
    if (rc) throw damaged(m_image, "extended attributes of " + host.string(), rc);
    if (error) {
      errno = error;
      throw write_error(host, "cannot set extended attribute " + failed +
                                  " (the build directory's filesystem must support it)");
    }
  }

  ext2_filsys m_fs;
  fs::path m_image, m_dest;
  std::vector<char> m_buf;
  std::unordered_map<ext2_ino_t, std::string> m_links;
  std::unordered_set<ext2_ino_t> m_seen_dirs;
  uint64_t m_files = 0;
  int64_t m_newest = 0;
};

} // namespace

Ext4Facts read_ext4_facts(const fs::path& image) {
  auto fs = open_fs(image);
  return facts_of(fs.get());
}

Ext4Facts unpack_ext4(const fs::path& image, const fs::path& dest) {
  auto fs = open_fs(image);
  Ext4Facts facts = facts_of(fs.get());
  Unpacker unpacker(fs.get(), image, dest);
  unpacker.root();
  facts.files = unpacker.files();
  facts.newest_mtime = unpacker.newest_mtime();
  return facts;
}

} // namespace tdx::image
