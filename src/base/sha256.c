/* sha256.c: SHA-256 through libcrypto's EVP interface (sha256.h). The algorithm is fetched
 * once per process and each thread reuses one digest context, so a hash costs the digest
 * itself and no allocation. */
#include "base/sha256.h"

#include <openssl/evp.h>
#include <pthread.h>

#include "base/base.h"

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    PB_ASSERT(sha256_md != NULL);
}

/* The thread's context; freed by the destructor when the thread ends. */
static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void ctx_key_create(void)
{
    PB_ASSERT(pthread_key_create(&ctx_key, ctx_free) == 0);
}

static EVP_MD_CTX *thread_ctx(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    pthread_once(&ctx_once, ctx_key_create);
    EVP_MD_CTX *ctx = pthread_getspecific(ctx_key);
    if (!ctx) {
        ctx = EVP_MD_CTX_new();
        PB_ASSERT(ctx != NULL && pthread_setspecific(ctx_key, ctx) == 0);
    }
    return ctx;
}

void pb_sha256_parts(const struct pb_sha256_part *parts, size_t n,
                     unsigned char out[PB_SHA256_DIGEST_LEN])
{
    EVP_MD_CTX *ctx = thread_ctx();
    unsigned int len = 0;
    PB_ASSERT(EVP_DigestInit_ex2(ctx, sha256_md, NULL) == 1);
    for (size_t i = 0; i < n; i++)
        PB_ASSERT(EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) == 1);
    PB_ASSERT(EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == PB_SHA256_DIGEST_LEN);
}

void pb_sha256_to_hex(const unsigned char digest[PB_SHA256_DIGEST_LEN],
                      char hex[PB_SHA256_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < PB_SHA256_DIGEST_LEN; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[PB_SHA256_HEX_LEN] = '\0';
}

void pb_sha256_hex(const void *data, size_t len, char hex[PB_SHA256_HEX_LEN + 1])
{
    unsigned char digest[PB_SHA256_DIGEST_LEN];
    pb_sha256_parts(&(struct pb_sha256_part){data, len}, 1, digest);
    pb_sha256_to_hex(digest, hex);
}
