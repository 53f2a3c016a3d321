/* version: the library's version, as a string and as numbers. Both come from claimd.h's
 * CLAIMD_VERSION_* (the Makefile's VERSION is read from there too), so they cannot disagree. */
#include "claimd.h"

#define CD_STR2(x) #x
#define CD_STR(x) CD_STR2(x)
#define CD_LIB_VERSION \
    CD_STR(CLAIMD_VERSION_MAJOR) "." CD_STR(CLAIMD_VERSION_MINOR) "." CD_STR(CLAIMD_VERSION_PATCH)

const char *claimd_version(void)
{
    return CD_LIB_VERSION;
}

void claimd_version_numbers(int *major, int *minor, int *patch)
{
    if (major) *major = CLAIMD_VERSION_MAJOR;
    if (minor) *minor = CLAIMD_VERSION_MINOR;
    if (patch) *patch = CLAIMD_VERSION_PATCH;
}
