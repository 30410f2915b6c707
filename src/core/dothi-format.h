/* dothi-format.h: numbers formatted for people, in the user's locale
 * ("12.873" in Vietnamese), whatever the process-wide LC_NUMERIC is. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "12.873" in vi_VN, "12,873" in en_US; main thread or any other. */
char *dothi_format_int64 (gint64 value);
/* @value with @digits decimals and grouped thousands: "1.234,57" in
 * vi_VN, "1,234.57" in en_US. */
char *dothi_format_double (double value, int digits);

G_END_DECLS
