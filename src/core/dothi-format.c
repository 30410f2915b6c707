/* dothi-format.c: display formatting of numbers in the user's locale.
 *
 * libspatialite 5.0's spatialite_init_ex() calls setlocale (LC_NUMERIC,
 * "POSIX") for the whole process each time the core opens a connection,
 * so the global LC_NUMERIC cannot be trusted for display: numbers are
 * printed under a locale object of their own, made once from the
 * environment (LC_ALL, LC_NUMERIC, LANG), with uselocale() for this
 * thread only. */
#define G_LOG_DOMAIN "dothi-format"

#include "config.h"
#include "dothi-format.h"

#include <locale.h>

static locale_t
get_display_locale (void)
{
  static gsize once = 0;
  static locale_t display_locale = (locale_t) 0;

  if (g_once_init_enter (&once))
    {
      display_locale = newlocale (LC_NUMERIC_MASK, "", (locale_t) 0);
      /* An unknown locale in the environment: fall back to plain digits. */
      if (display_locale == (locale_t) 0)
        display_locale = newlocale (LC_NUMERIC_MASK, "C", (locale_t) 0);
      g_once_init_leave (&once, 1);
    }

  return display_locale;
}

char *
dothi_format_int64 (gint64 value)
{
  locale_t display_locale = get_display_locale ();
  locale_t previous;
  char *text;

  if (display_locale == (locale_t) 0)
    return g_strdup_printf ("%" G_GINT64_FORMAT, value);

  previous = uselocale (display_locale);
  /* %' groups thousands with the locale's separator. */
  text = g_strdup_printf ("%'" G_GINT64_FORMAT, value);
  uselocale (previous);

  return text;
}

char *
dothi_format_double (double value,
                     int    digits)
{
  locale_t display_locale = get_display_locale ();
  locale_t previous;
  char *text;

  if (display_locale == (locale_t) 0)
    return g_strdup_printf ("%.*f", digits, value);

  previous = uselocale (display_locale);
  text = g_strdup_printf ("%'.*f", digits, value);
  uselocale (previous);

  return text;
}
