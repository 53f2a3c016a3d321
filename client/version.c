/* version: the library's version string, set by the build (Makefile VERSION). */
#include "claimd.h"

#ifndef CLAIMD_VERSION_STRING
#define CD_STR2(x) #x
#define CD_STR(x) CD_STR2(x)
#define CLAIMD_VERSION_STRING \
    CD_STR(CLAIMD_VERSION_MAJOR) "." CD_STR(CLAIMD_VERSION_MINOR) "." CD_STR(CLAIMD_VERSION_PATCH)
#endif

const char *claimd_version(void)
{
    return CLAIMD_VERSION_STRING;
}
