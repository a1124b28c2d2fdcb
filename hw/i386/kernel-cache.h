/* The decompressed-kernel cache (hw/i386/kernel-cache.c, docs/kernel-cache.md). */
#ifndef HW_I386_KERNEL_CACHE_H
#define HW_I386_KERNEL_CACHE_H
#include "vireo/loader.h"
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#define KCACHE_KEY_LEN     64                 /* SHA-256, hex */
#define KCACHE_LIMIT       (512ULL << 20)     /* all entries together (LRU eviction) */
#define KCACHE_ENTRY_MAX   (256ULL << 20)     /* one entry */
#define KCACHE_MAX_RATIO   32                 /* decompressed / compressed */

typedef struct KernelCacheFill KernelCacheFill;

/* $XDG_CACHE_HOME/vireo/kernels, else $HOME/.cache/vireo/kernels; NULL if neither. */
char *kernel_cache_default_dir(void);
/* Opens @path (creating it and its parents 0700) as a private directory: a real
 * directory (no symlink), owned by the effective user, no group/other access.
 * Returns its fd, or -1 with @errp saying what is wrong. */
int kernel_cache_open_dir(const char *path, GError **errp);

/* The decompressed size the payload announces (its last 4 bytes, as the kernel's
 * build appends them), if the cache may hold it: at most init_size, KCACHE_ENTRY_MAX
 * and KCACHE_MAX_RATIO times the payload; 0 otherwise. */
size_t kernel_cache_expected_size(const uint8_t *payload, size_t len, const BzImageInfo *h);
/* The entry name for a payload: SHA-256 over its content. */
void kernel_cache_key(const uint8_t *payload, size_t len, char key[KCACHE_KEY_LEN + 1]);

/* Maps entry @key if it is a regular file of the effective user (not a symlink, one
 * link) of exactly @expect bytes, and marks it as used (LRU); NULL otherwise. */
uint8_t *kernel_cache_lookup(int dirfd, const char *key, size_t expect);
void kernel_cache_release(uint8_t *data, size_t len);
/* Removes entry @key (found invalid). */
void kernel_cache_drop(int dirfd, const char *key);
/* Writes an entry atomically (temporary file, fsync, rename), then evicts the least
 * recently used entries until all fit in @limit bytes. */
bool kernel_cache_store(int dirfd, const char *key, const uint8_t *data, size_t len,
                        uint64_t limit, GError **errp);
/* Decompresses @payload, checks the result (size, vmlinux_parse against @h) and stores
 * it as @key. */
bool kernel_cache_fill(int dirfd, const char *key, const uint8_t *payload, size_t len,
                       const BzImageInfo *h, uint64_t limit, GError **errp);

/* Fills the cache on a background thread at idle priority once the guest is idle:
 * re-reads the payload of file @kernel (@off, @len), checks it still hashes to @key,
 * then kernel_cache_fill(). Takes ownership of @dirfd. */
KernelCacheFill *kernel_cache_fill_start(int dirfd, const char *kernel, const char *key,
                                         size_t off, size_t len, const BzImageInfo *h);
/* Lets a pending fill run now at normal priority and waits for it, at most @timeout_us
 * (< 0: until it ends); past that the fill is abandoned to finish on its own. */
void kernel_cache_fill_finish(KernelCacheFill *f, int64_t timeout_us);

#endif
