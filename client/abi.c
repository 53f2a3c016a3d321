/* abi: reading and writing the caller's versioned structs (claimd.h, "ABI"). Every such struct
 * starts with size_t struct_size, the sizeof the caller compiled with, so a caller built against
 * an older header (smaller struct) or a newer one (more fields at the end) works with this
 * library: it reads only the bytes the caller has, and refuses fields it does not know that are
 * set rather than silently dropping them. */
#include <string.h>

#include "client.h"

/* The caller's struct_size, read without assuming anything about the rest of the struct. */
static size_t their_size(const void *theirs)
{
    size_t n;
    memcpy(&n, theirs, sizeof n);
    return n;
}

int cd_client_struct_in(void *ours, size_t ours_size, const void *theirs, size_t min_size)
{
    if (!theirs) return -1;
    size_t n = their_size(theirs);
    if (n < min_size || n < sizeof(size_t)) return -1;
    if (n > ours_size) {
        const unsigned char *tail = (const unsigned char *)theirs + ours_size;
        for (size_t i = 0; i < n - ours_size; i++)
            if (tail[i]) return -1;
    }
    memset(ours, 0, ours_size);
    memcpy(ours, theirs, n < ours_size ? n : ours_size);
    return 0;
}

void cd_client_struct_out(void *theirs, const void *ours, size_t ours_size)
{
    size_t n = their_size(theirs);
    if (n <= sizeof(size_t)) return;
    size_t copy = n < ours_size ? n : ours_size;
    memcpy((char *)theirs + sizeof(size_t), (const char *)ours + sizeof(size_t),
           copy - sizeof(size_t));
    if (n > ours_size) memset((char *)theirs + ours_size, 0, n - ours_size);
}

const void *cd_client_struct_at(const void *base, size_t i, size_t min_size)
{
    if (!base) return NULL;
    size_t stride = their_size(base);
    if (stride < min_size || stride < sizeof(size_t)) return NULL;
    const void *p = (const char *)base + i * stride;
    return their_size(p) == stride ? p : NULL;
}
