#ifndef NNTRAIN_CZLIB_SHIM_H
#define NNTRAIN_CZLIB_SHIM_H
#include <zlib.h>
#endif
