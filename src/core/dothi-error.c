/* dothi-error.c: the DOTHI_ERROR domain. */
#include "dothi-error.h"

G_DEFINE_QUARK (dothi-error-quark, dothi_error)
