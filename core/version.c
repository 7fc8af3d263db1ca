/* version.c - the library's version and its dtype helpers. */
#include "internal.h"

#define LC_STR2(x) #x
#define LC_STR(x) LC_STR2(x)

const char *lc_version(int *code)
{
    if (code)
        *code = LIONCUB_VERSION;
    return LC_STR(LIONCUB_VERSION_MAJOR) "." LC_STR(LIONCUB_VERSION_MINOR) "." LC_STR(
        LIONCUB_VERSION_PATCH);
}

size_t lc_dtype_size(lc_dtype_t dtype)
{
    switch (dtype) {
    case LC_FP32:
    case LC_INT32:
        return 4;
    case LC_BF16:
    case LC_FP16:
        return 2;
    case LC_INT8:
        return 1;
    default:
        return 0;
    }
}

const char *lc_dtype_name(lc_dtype_t dtype)
{
    static const char *const names[LC_DTYPE_COUNT] = {"fp32", "bf16", "fp16",
                                                      "int8", "int32", "bits"};
    if ((unsigned)dtype >= LC_DTYPE_COUNT)
        return "invalid";
    return names[dtype];
}
