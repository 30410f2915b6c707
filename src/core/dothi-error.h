/* dothi-error.h: the one error domain of the core. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DOTHI_ERROR (dothi_error_quark ())

typedef enum {
  DOTHI_ERROR_FAILED,        /* internal error: exit status 3 */
  DOTHI_ERROR_NOT_FOUND,     /* a file, layer or field does not exist */
  DOTHI_ERROR_INVALID_DATA,  /* bad input: exit status 1 */
  DOTHI_ERROR_UNSUPPORTED,   /* a format or feature Dothi cannot read */
  DOTHI_ERROR_EXISTS,        /* refusing to overwrite */
  DOTHI_ERROR_VERSION,       /* project from a newer Dothi */
  DOTHI_ERROR_READ_ONLY,     /* project opened read-only */
  DOTHI_ERROR_CRS,           /* unknown or missing CRS */
  DOTHI_ERROR_CONFLICT,      /* undo: a row changed since the action */
  DOTHI_ERROR_BUSY,          /* another program holds the write lock */
  DOTHI_ERROR_NOTHING,       /* nothing to undo or redo */
} DothiErrorCode;

GQuark dothi_error_quark (void);

G_END_DECLS
