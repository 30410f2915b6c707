/* dothi-search.c: the search entry (parcels by sheet and number, named
 * features by folded name, typed coordinates) and identify (the features
 * under a point), each run on a read-only connection of its own. */
#define G_LOG_DOMAIN "dothi-search"

#include "config.h"
#include "dothi-search.h"
#include "dothi-autocleanups.h"
#include "dothi-error.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <sqlite3.h>
#include <spatialite.h>
#include <string.h>

/* Half the side of the box a coordinate result flies to, metres. */
#define COORDINATE_HALF_BOX 50.0
/* Features identify returns per layer. */
#define IDENTIFY_MAX_PER_LAYER 20
/* SQLite virtual machine steps between two looks at the cancellable. */
#define CANCEL_CHECK_STEPS 4096

/* Plausible VN-2000 projected values (TM-3 and UTM zones): a northing in
 * Vietnam is 0.9–2.6 million metres, an easting 0.2–0.8 million. */
#define NORTHING_MIN 900000.0
#define NORTHING_MAX 2700000.0
#define EASTING_MIN 150000.0
#define EASTING_MAX 850000.0

typedef struct {
  char     *name;
  char     *type;        /* declared type, upper case */
  gboolean  is_integer;
  gboolean  is_text;
} Column;

typedef struct {
  char              *name;
  char              *title;
  DothiGeometryKind  kind;
  gboolean           visible;
  char              *pk;         /* the integer primary key, or "rowid" */
  char              *geom;       /* geometry column, or NULL */
  int                srid;       /* of the geometry column */
  char              *index;      /* the R-tree table, or NULL */
  GPtrArray         *columns;    /* Column*, without the key and geometry */
} Layer;

typedef struct {
  char         *path;
  sqlite3      *db;
  void         *spatialite_cache;
  int           srid;            /* project CRS */
  PJ_CONTEXT   *proj;
  GHashTable   *transforms;      /* srid -> PJ*: that CRS to the project CRS */
  GPtrArray    *layers;          /* Layer*, topmost first */
  GCancellable *cancellable;     /* also stops a long scan (progress handler) */
} Session;

/* ---- small helpers ----------------------------------------------------- */

static void
column_free (Column *column)
{
  g_free (column->name);
  g_free (column->type);
  g_free (column);
}

static void
layer_free (Layer *layer)
{
  g_free (layer->name);
  g_free (layer->title);
  g_free (layer->pk);
  g_free (layer->geom);
  g_free (layer->index);
  g_ptr_array_unref (layer->columns);
  g_free (layer);
}

static Column *
layer_find_column (Layer *layer, const char * const *names)
{
  for (guint n = 0; names[n] != NULL; n++)
    for (guint i = 0; i < layer->columns->len; i++)
      {
        Column *column = g_ptr_array_index (layer->columns, i);

        if (g_ascii_strcasecmp (column->name, names[n]) == 0)
          return column;
      }
  return NULL;
}

void
dothi_search_result_free (DothiSearchResult *result)
{
  if (result == NULL)
    return;
  g_free (result->layer);
  g_free (result->layer_title);
  g_free (result->label);
  g_free (result->detail);
  g_free (result);
}

void
dothi_identify_result_free (DothiIdentifyResult *result)
{
  if (result == NULL)
    return;
  g_free (result->layer);
  g_free (result->layer_title);
  g_clear_pointer (&result->names, g_ptr_array_unref);
  g_clear_pointer (&result->values, g_ptr_array_unref);
  g_free (result);
}

static gboolean
set_db_error (Session *session, const char *context, GError **error)
{
  int code = sqlite3_errcode (session->db);

  if (code == SQLITE_INTERRUPT && g_cancellable_set_error_if_cancelled (session->cancellable, error))
    return FALSE;
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: first a file or layer name, then the database's own message */
               _("Database error in “%s”: %s"), context ? context : session->path,
               sqlite3_errmsg (session->db));
  return FALSE;
}

static gboolean
prepare (Session *session, const char *sql, sqlite3_stmt **stmt, const char *context,
         GError **error)
{
  if (sqlite3_prepare_v2 (session->db, sql, -1, stmt, NULL) != SQLITE_OK)
    return set_db_error (session, context, error);
  return TRUE;
}

/* Up to two decimals, without trailing zeros, in the C locale. */
static char *
format_real (double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char *end;

  if (!isfinite (value))
    return g_strdup (isnan (value) ? "NaN" : value > 0 ? "∞" : "−∞");
  g_ascii_formatd (buf, sizeof buf, "%.2f", value);
  if (strchr (buf, '.') != NULL)
    {
      end = buf + strlen (buf) - 1;
      while (*end == '0')
        *end-- = '\0';
      if (*end == '.')
        *end = '\0';
    }
  if (strcmp (buf, "-0") == 0)
    return g_strdup ("0");
  return g_strdup (buf);
}

/* ---- folding ----------------------------------------------------------- */

/* The full fold: lower case, NFD, marks dropped, đ → d, spaces made one. */
static char *
fold_slow (const char *text)
{
  g_autofree char *valid = NULL;
  g_autofree char *lower = NULL;
  g_autofree char *nfd = NULL;
  GString *out;
  gboolean space = FALSE;

  if (!g_utf8_validate (text, -1, NULL))
    text = valid = g_utf8_make_valid (text, -1);
  /* Lower case first: a capital may decompose differently (İ). */
  lower = g_utf8_strdown (text, -1);
  nfd = g_utf8_normalize (lower, -1, G_NORMALIZE_NFD);
  if (nfd == NULL)
    return g_strdup ("");

  out = g_string_sized_new (strlen (nfd));
  for (const char *p = nfd; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      switch (g_unichar_type (c))
        {
        case G_UNICODE_NON_SPACING_MARK:
        case G_UNICODE_SPACING_MARK:
        case G_UNICODE_ENCLOSING_MARK:
        case G_UNICODE_FORMAT:          /* zero-width spaces and joiners */
          continue;
        default:
          break;
        }
      if (g_unichar_isspace (c))
        {
          space = out->len > 0;
          continue;
        }
      if (space)
        g_string_append_c (out, ' ');
      space = FALSE;
      /* đ, and the look-alikes typed for it: ð (eth), ɖ (African d). */
      if (c == 0x0111 || c == 0x0110 || c == 0x00F0 || c == 0x00D0 || c == 0x0256 || c == 0x0189)
        c = 'd';
      g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

/* What the full fold does to one character of the Latin, combining-mark,
 * Vietnamese and punctuation blocks, so most names fold in one pass
 * without allocations (a few hundred thousand names per search). */
enum {
  FOLD_SLOW = 0,   /* not in a table, or not one character to one: the full fold */
  FOLD_SKIP = 1,   /* a mark or format character, dropped */
  FOLD_SPACE = 2,
  FOLD_KEEP = 3,   /* folds to itself */
  /* otherwise: the ASCII character it folds to */
};

#define FOLD_LOW_END 0x0370      /* U+0080..U+036F: Latin, IPA, combining marks */
#define FOLD_HIGH_START 0x1E00   /* U+1E00..U+206F: Latin Extended Additional */
#define FOLD_HIGH_END 0x2070     /* (Vietnamese), Greek Extended, punctuation */

static guint8 fold_low[FOLD_LOW_END];
static guint8 fold_high[FOLD_HIGH_END - FOLD_HIGH_START];

static guint8
classify_char (gunichar c)
{
  char buf[8];
  g_autofree char *folded = NULL;

  buf[g_unichar_to_utf8 (c, buf)] = '\0';
  if (g_unichar_isspace (c))
    return FOLD_SPACE;
  folded = fold_slow (buf);
  if (folded[0] == '\0')
    return FOLD_SKIP;
  if (folded[1] == '\0' && (guchar) folded[0] >= 0x20 && (guchar) folded[0] < 0x80)
    return (guint8) folded[0];
  if (strcmp (folded, buf) == 0)
    return FOLD_KEEP;
  return FOLD_SLOW;
}

static void
ensure_fold_tables (void)
{
  static gsize ready = 0;

  if (g_once_init_enter (&ready))
    {
      for (gunichar c = 0x80; c < FOLD_LOW_END; c++)
        fold_low[c] = classify_char (c);
      for (gunichar c = FOLD_HIGH_START; c < FOLD_HIGH_END; c++)
        fold_high[c - FOLD_HIGH_START] = classify_char (c);
      g_once_init_leave (&ready, 1);
    }
}

/* The fold through the tables; NULL when a character needs the full fold. */
static char *
fold_fast (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));
  gboolean space = FALSE;
  const char *p = text;

  while (*p)
    {
      guchar b = (guchar) *p;
      gunichar c;
      guint8 action;

      if (b < 0x80)
        {
          if (g_ascii_isspace (b))
            space = out->len > 0;
          else
            {
              if (space)
                g_string_append_c (out, ' ');
              space = FALSE;
              g_string_append_c (out, g_ascii_tolower (b));
            }
          p++;
          continue;
        }

      c = g_utf8_get_char_validated (p, -1);
      if (c >= 0x80 && c < FOLD_LOW_END)
        action = fold_low[c];
      else if (c >= FOLD_HIGH_START && c < FOLD_HIGH_END)
        action = fold_high[c - FOLD_HIGH_START];
      else
        action = FOLD_SLOW;   /* also invalid UTF-8 */

      switch (action)
        {
        case FOLD_SLOW:
          g_string_free (out, TRUE);
          return NULL;
        case FOLD_SKIP:
          break;
        case FOLD_SPACE:
          space = out->len > 0;
          break;
        default:
          if (space)
            g_string_append_c (out, ' ');
          space = FALSE;
          if (action == FOLD_KEEP)
            g_string_append_len (out, p, g_utf8_next_char (p) - p);
          else
            g_string_append_c (out, (char) action);
          break;
        }
      p = g_utf8_next_char (p);
    }
  return g_string_free (out, FALSE);
}

char *
dothi_text_fold (const char *text)
{
  char *folded;

  if (text == NULL)
    return g_strdup ("");
  ensure_fold_tables ();
  folded = fold_fast (text);
  return folded != NULL ? folded : fold_slow (text);
}

/* dothi_fold(text) for this connection only: never stored in the file, so
 * QGIS never meets it (DESIGN.md §6). */
static void
fold_sql (sqlite3_context *context, int argc, sqlite3_value **argv)
{
  const char *text;

  if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
    {
      sqlite3_result_null (context);
      return;
    }
  text = (const char *) sqlite3_value_text (argv[0]);
  sqlite3_result_text (context, dothi_text_fold (text), -1, g_free);
}

/* ---- the session: connection, CRS and layer catalogue -------------------- */

static int
progress_cb (void *data)
{
  return g_cancellable_is_cancelled (G_CANCELLABLE (data)) ? 1 : 0;
}

static void
session_free (Session *session)
{
  if (session == NULL)
    return;
  g_clear_pointer (&session->layers, g_ptr_array_unref);
  g_clear_pointer (&session->transforms, g_hash_table_unref);
  g_clear_pointer (&session->proj, proj_context_destroy);
  if (session->db != NULL)
    sqlite3_close_v2 (session->db);
  if (session->spatialite_cache != NULL)
    spatialite_cleanup_ex (session->spatialite_cache);
  g_clear_object (&session->cancellable);
  g_free (session->path);
  g_free (session);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Session, session_free)

static void
destroy_pj (gpointer pj)
{
  proj_destroy (pj);
}

static gboolean
is_uri (const char *path)
{
  return g_str_has_prefix (path, "file:");
}

static gboolean
check_exists (const char *path, GError **error)
{
  if (is_uri (path) || g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
               /* Translators: file name */
               _("Project file “%s” does not exist"), path);
  return FALSE;
}

static gboolean
load_layer_details (Session *session, Layer *layer, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) pragma = NULL;
  g_autofree char *pk = NULL;
  int rc;

  if (!prepare (session,
                "SELECT f_geometry_column, srid FROM geometry_columns "
                "WHERE lower(f_table_name) = lower(?1)", &stmt, layer->name, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, layer->name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      layer->geom = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      layer->srid = sqlite3_column_int (stmt, 1);
    }
  g_clear_pointer (&stmt, sqlite3_finalize);

  if (layer->geom != NULL)
    {
      g_autofree char *index = g_strdup_printf ("idx_%s_%s", layer->name, layer->geom);

      if (!prepare (session, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    &stmt, layer->name, error))
        return FALSE;
      sqlite3_bind_text (stmt, 1, index, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        layer->index = g_steal_pointer (&index);
      g_clear_pointer (&stmt, sqlite3_finalize);
    }

  pragma = sqlite3_mprintf ("PRAGMA table_info(\"%w\")", layer->name);
  if (!prepare (session, pragma, &stmt, layer->name, error))
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (stmt, 1);
      const char *type = (const char *) sqlite3_column_text (stmt, 2);
      g_autofree char *upper = g_ascii_strup (type ? type : "", -1);
      Column *column;

      if (name == NULL)
        continue;
      if (sqlite3_column_int (stmt, 5) == 1 && strcmp (upper, "INTEGER") == 0 && pk == NULL)
        {
          pk = g_strdup (name);
          continue;
        }
      if (layer->geom != NULL && g_ascii_strcasecmp (name, layer->geom) == 0)
        continue;
      column = g_new0 (Column, 1);
      column->name = g_strdup (name);
      column->type = g_steal_pointer (&upper);
      /* SQLite's own affinity rules (datatype3.html §3.1). */
      column->is_integer = strstr (column->type, "INT") != NULL;
      column->is_text = !column->is_integer
                        && (strstr (column->type, "CHAR") != NULL
                            || strstr (column->type, "CLOB") != NULL
                            || strstr (column->type, "TEXT") != NULL);
      g_ptr_array_add (layer->columns, column);
    }
  if (rc != SQLITE_DONE)
    return set_db_error (session, layer->name, error);
  layer->pk = pk ? g_steal_pointer (&pk) : g_strdup ("rowid");
  return TRUE;
}

static gboolean
load_layers (Session *session, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (!prepare (session,
                "SELECT name, title, kind, visible FROM dothi_layers "
                "WHERE name IN (SELECT name FROM sqlite_master WHERE type = 'table') "
                "ORDER BY z_order DESC, name", &stmt, NULL, error))
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      Layer *layer = g_new0 (Layer, 1);
      const char *title = (const char *) sqlite3_column_text (stmt, 1);

      layer->name = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      layer->title = g_strdup (title ? title : layer->name);
      layer->kind = dothi_geometry_kind_from_string ((const char *) sqlite3_column_text (stmt, 2));
      layer->visible = sqlite3_column_int (stmt, 3) != 0;
      layer->columns = g_ptr_array_new_with_free_func ((GDestroyNotify) column_free);
      g_ptr_array_add (session->layers, layer);
    }
  if (rc != SQLITE_DONE)
    return set_db_error (session, NULL, error);
  g_clear_pointer (&stmt, sqlite3_finalize);

  for (guint i = 0; i < session->layers->len; i++)
    if (!load_layer_details (session, g_ptr_array_index (session->layers, i), error))
      return FALSE;
  return TRUE;
}

static int
parse_epsg (const char *crs)
{
  gint64 code = 0;
  const char *p = crs;

  if (crs == NULL)
    return 0;
  if (g_ascii_strncasecmp (p, "EPSG:", 5) == 0)
    p += 5;
  if (!g_ascii_string_to_signed (p, 10, 1, G_MAXINT, &code, NULL))
    return 0;
  return (int) code;
}

static Session *
session_open (const char *path, GCancellable *cancellable, GError **error)
{
  g_autoptr(Session) session = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
  int rc;

  if (!check_exists (path, error))
    return NULL;

  session = g_new0 (Session, 1);
  session->path = g_strdup (path);
  session->cancellable = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();
  session->layers = g_ptr_array_new_with_free_func ((GDestroyNotify) layer_free);
  session->transforms = g_hash_table_new_full (NULL, NULL, NULL, destroy_pj);

  if (is_uri (path))
    flags |= SQLITE_OPEN_URI;
  if (sqlite3_open_v2 (path, &session->db, flags, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name, then the database's message */
                   _("Cannot open “%s”: %s"), path,
                   session->db ? sqlite3_errmsg (session->db) : "out of memory");
      return NULL;
    }
  sqlite3_busy_timeout (session->db, 5000);
  sqlite3_db_config (session->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
  sqlite3_db_config (session->db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
  sqlite3_db_config (session->db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
  session->spatialite_cache = spatialite_alloc_connection ();
  spatialite_init_ex (session->db, session->spatialite_cache, 0);
  /* Searching never writes, even by mistake. */
  if (sqlite3_exec (session->db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK
      || sqlite3_create_function (session->db, "dothi_fold", 1,
                                  SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                  fold_sql, NULL, NULL) != SQLITE_OK)
    {
      set_db_error (session, NULL, error);
      return NULL;
    }
  sqlite3_progress_handler (session->db, CANCEL_CHECK_STEPS, progress_cb, session->cancellable);

  /* SQLite reads the header only at the first statement. */
  rc = sqlite3_prepare_v2 (session->db, "SELECT value FROM dothi_meta WHERE key = 'crs'",
                           -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      if (sqlite3_errcode (session->db) == SQLITE_INTERRUPT)
        {
          set_db_error (session, NULL, error);
          return NULL;
        }
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: file name, then the database's message */
                   _("“%s” is not a Dothi project: %s"), path, sqlite3_errmsg (session->db));
      return NULL;
    }
  if (sqlite3_step (stmt) == SQLITE_ROW)
    session->srid = parse_epsg ((const char *) sqlite3_column_text (stmt, 0));
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (session->srid == 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                   /* Translators: file name */
                   _("Project “%s” has no coordinate reference system"), path);
      return NULL;
    }

  if (!load_layers (session, error))
    return NULL;
  return g_steal_pointer (&session);
}

static PJ_CONTEXT *
session_get_proj (Session *session)
{
  if (session->proj == NULL)
    {
      session->proj = proj_context_create ();
      /* Failures reach the user through Dothi's own messages. */
      proj_log_level (session->proj, PJ_LOG_NONE);
    }
  return session->proj;
}

/* The transformation from EPSG @srid to the project CRS, in GIS axis order
 * (easting or longitude first); borrowed; NULL when PROJ has none. */
static PJ *
session_get_transform (Session *session, int srid)
{
  PJ *pj = g_hash_table_lookup (session->transforms, GINT_TO_POINTER (srid));

  if (pj == NULL && !g_hash_table_contains (session->transforms, GINT_TO_POINTER (srid)))
    {
      PJ_CONTEXT *ctx = session_get_proj (session);
      g_autofree char *from = g_strdup_printf ("EPSG:%d", srid);
      g_autofree char *to = g_strdup_printf ("EPSG:%d", session->srid);
      g_autoptr(PJ) raw = proj_create_crs_to_crs (ctx, from, to, NULL);

      if (raw != NULL)
        pj = proj_normalize_for_visualization (ctx, raw);
      g_hash_table_insert (session->transforms, GINT_TO_POINTER (srid), pj);
    }
  return pj;
}

/* Moves @bbox from the CRS of @srid into the project CRS, in place. */
static void
bbox_to_project (Session *session, int srid, double bbox[4])
{
  PJ *pj;
  double out[4];

  if (srid == 0 || srid == session->srid)
    return;
  pj = session_get_transform (session, srid);
  if (pj != NULL
      && proj_trans_bounds (session_get_proj (session), pj, PJ_FWD, bbox[0], bbox[1], bbox[2],
                            bbox[3], &out[0], &out[1], &out[2], &out[3], 21))
    memcpy (bbox, out, sizeof out);
}

/* ---- parcels ----------------------------------------------------------- */

static const char *sheet_fields[] = {
  "so_to", "to_ban_do", "so_hieu_to", "so_to_ban_do", "sohieutobando", "so_hieu_to_ban_do",
  "sheet", "map_sheet", NULL,
};
static const char *parcel_fields[] = {
  "so_thua", "thua", "so_thu_tu_thua", "sothututhua", "parcel", "parcel_no", NULL,
};
static const char *address_fields[] = {
  "dia_chi", "address", "diachi", NULL,
};

/* Reads "tờ 12 thửa 345", "12/345", "thửa 345 tờ 12"... from folded text. */
static gboolean
parse_parcel (const char *folded, gint64 *sheet, gint64 *parcel)
{
  static const struct {
    const char *pattern;
    gboolean    parcel_first;
  } forms[] = {
    { "^(?:so\\s*)?(?:to|t)(?:\\s*ban\\s*do)?(?:\\s*so)?\\s*[:.#]?\\s*(\\d{1,9})\\s*[,;]?\\s*"
      "(?:so\\s*)?(?:thua|t)(?:\\s*dat)?(?:\\s*so)?\\s*[:.#]?\\s*(\\d{1,9})$", FALSE },
    { "^(?:so\\s*)?thua(?:\\s*dat)?(?:\\s*so)?\\s*[:.#]?\\s*(\\d{1,9})\\s*[,;]?\\s*"
      "(?:thuoc\\s*)?(?:so\\s*)?to(?:\\s*ban\\s*do)?(?:\\s*so)?\\s*[:.#]?\\s*(\\d{1,9})$", TRUE },
    { "^(\\d{1,9})\\s*[/-]\\s*(\\d{1,9})$", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (forms); i++)
    {
      g_autoptr(GRegex) regex = g_regex_new (forms[i].pattern, 0, 0, NULL);
      g_autoptr(GMatchInfo) match = NULL;
      g_autofree char *a = NULL;
      g_autofree char *b = NULL;

      g_assert (regex != NULL);
      if (!g_regex_match (regex, folded, 0, &match))
        continue;
      a = g_match_info_fetch (match, 1);
      b = g_match_info_fetch (match, 2);
      *sheet = g_ascii_strtoll (forms[i].parcel_first ? b : a, NULL, 10);
      *parcel = g_ascii_strtoll (forms[i].parcel_first ? a : b, NULL, 10);
      return TRUE;
    }
  return FALSE;
}

static void
append_number_condition (GString *sql, const Column *column, int param)
{
  g_autoptr(DothiSqlStr) cond = NULL;

  /* Code-like columns keep their text ("012"): compare without the
   * leading zeros on both sides. */
  if (column->is_integer)
    cond = sqlite3_mprintf ("\"%w\" = ?%d", column->name, param);
  else
    cond = sqlite3_mprintf ("ltrim(CAST(\"%w\" AS TEXT), '0') = ltrim(?%d, '0')",
                            column->name, param + 2);
  g_string_append (sql, cond);
}

static gboolean
search_parcels (Session *session, gint64 sheet, gint64 parcel, guint limit,
                GPtrArray *results, GError **error)
{
  g_autofree char *sheet_text = g_strdup_printf ("%" G_GINT64_FORMAT, sheet);
  g_autofree char *parcel_text = g_strdup_printf ("%" G_GINT64_FORMAT, parcel);

  for (guint i = 0; i < session->layers->len && results->len < limit; i++)
    {
      Layer *layer = g_ptr_array_index (session->layers, i);
      Column *sheet_col, *parcel_col, *address_col;
      g_autoptr(GString) sql = NULL;
      g_autoptr(sqlite3_stmt) stmt = NULL;
      g_autoptr(DothiSqlStr) head = NULL;
      int rc;

      if (g_cancellable_set_error_if_cancelled (session->cancellable, error))
        return FALSE;
      if (layer->geom == NULL
          || (layer->kind != DOTHI_GEOMETRY_KIND_MULTIPOLYGON
              && layer->kind != DOTHI_GEOMETRY_KIND_GEOMETRY))
        continue;
      sheet_col = layer_find_column (layer, sheet_fields);
      parcel_col = layer_find_column (layer, parcel_fields);
      if (sheet_col == NULL || parcel_col == NULL)
        continue;
      address_col = layer_find_column (layer, address_fields);

      sql = g_string_new (NULL);
      if (address_col != NULL)
        head = sqlite3_mprintf ("SELECT \"%w\", \"%w\", \"%w\", \"%w\", MbrMinX(\"%w\"), "
                                "MbrMinY(\"%w\"), MbrMaxX(\"%w\"), MbrMaxY(\"%w\") FROM \"%w\" WHERE ",
                                layer->pk, sheet_col->name, parcel_col->name, address_col->name,
                                layer->geom, layer->geom, layer->geom, layer->geom, layer->name);
      else
        head = sqlite3_mprintf ("SELECT \"%w\", \"%w\", \"%w\", NULL, MbrMinX(\"%w\"), "
                                "MbrMinY(\"%w\"), MbrMaxX(\"%w\"), MbrMaxY(\"%w\") FROM \"%w\" WHERE ",
                                layer->pk, sheet_col->name, parcel_col->name,
                                layer->geom, layer->geom, layer->geom, layer->geom, layer->name);
      g_string_append (sql, head);
      append_number_condition (sql, sheet_col, 1);
      g_string_append (sql, " AND ");
      append_number_condition (sql, parcel_col, 2);
      g_string_append (sql, " ORDER BY 1 LIMIT ?5");

      if (!prepare (session, sql->str, &stmt, layer->name, error))
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, sheet);
      sqlite3_bind_int64 (stmt, 2, parcel);
      sqlite3_bind_text (stmt, 3, sheet_text, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 4, parcel_text, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (stmt, 5, limit - results->len);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          DothiSearchResult *result = g_new0 (DothiSearchResult, 1);
          const char *address = (const char *) sqlite3_column_text (stmt, 3);

          result->kind = DOTHI_SEARCH_PARCEL;
          result->layer = g_strdup (layer->name);
          result->layer_title = g_strdup (layer->title);
          result->fid = sqlite3_column_int64 (stmt, 0);
          /* Translators: map sheet number and parcel number, as on a land certificate */
          result->label = g_strdup_printf (_("Sheet %s, parcel %s"),
                                           (const char *) sqlite3_column_text (stmt, 1),
                                           (const char *) sqlite3_column_text (stmt, 2));
          result->detail = g_strdup (address != NULL && *address ? address : layer->title);
          if (sqlite3_column_type (stmt, 4) == SQLITE_NULL)
            {
              result->bbox[0] = result->bbox[1] = result->bbox[2] = result->bbox[3] = NAN;
            }
          else
            {
              for (int k = 0; k < 4; k++)
                result->bbox[k] = sqlite3_column_double (stmt, 4 + k);
              bbox_to_project (session, layer->srid, result->bbox);
            }
          g_ptr_array_add (results, result);
        }
      if (rc != SQLITE_DONE)
        return set_db_error (session, layer->name, error);
    }
  return TRUE;
}

/* ---- coordinates ------------------------------------------------------- */

typedef enum {
  TOKEN_NUMBER,
  TOKEN_DEGREES,
  TOKEN_MINUTES,
  TOKEN_SECONDS,
  TOKEN_AXIS,
} TokenType;

typedef struct {
  TokenType type;
  double    value;
  gboolean  fraction;   /* the number had a decimal part */
  char      axis;       /* 'x', 'y', 'n', 's', 'e', 'w' */
} Token;

typedef struct {
  double   value;
  gboolean dms;
  gboolean fraction;
  char     axis;
} CoordValue;

static char
axis_of_word (const char *word, const char *next, gboolean *skip_next)
{
  static const struct {
    const char *word;
    char        axis;
  } words[] = {
    { "x", 'x' }, { "y", 'y' }, { "n", 'n' }, { "s", 's' }, { "e", 'e' }, { "w", 'w' },
    { "lat", 'n' }, { "latitude", 'n' }, { "lon", 'e' }, { "lng", 'e' }, { "long", 'e' },
    { "longitude", 'e' }, { "north", 'n' }, { "south", 's' }, { "east", 'e' }, { "west", 'w' },
    { "bac", 'n' }, { "dong", 'e' },
  };

  *skip_next = FALSE;
  /* "vĩ độ" (latitude) and "kinh độ" (longitude), folded. */
  if (g_strcmp0 (next, "do") == 0 && (strcmp (word, "vi") == 0 || strcmp (word, "kinh") == 0))
    {
      *skip_next = TRUE;
      return word[0] == 'v' ? 'n' : 'e';
    }
  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    if (strcmp (word, words[i].word) == 0)
      return words[i].axis;
  return 0;
}

/* Splits folded @text into numbers, degree/minute/second marks and axis
 * letters; FALSE on anything else. With @comma_decimal a comma between two
 * digits is a decimal separator, otherwise every comma separates. */
static gboolean
tokenize_coordinate (const char *text, gboolean comma_decimal, GArray *tokens)
{
  const char *p = text;

  while (*p)
    {
      gunichar c = g_utf8_get_char (p);
      Token token = { 0 };

      if (g_ascii_isdigit (*p)
          || ((*p == '-' || *p == '+' || *p == '.') && g_ascii_isdigit (p[1])))
        {
          GString *number = g_string_new (NULL);

          if (*p == '-' || *p == '+')
            g_string_append_c (number, *p++);
          while (g_ascii_isdigit (*p))
            g_string_append_c (number, *p++);
          if ((*p == '.' || (comma_decimal && *p == ',')) && g_ascii_isdigit (p[1]))
            {
              token.fraction = TRUE;
              g_string_append_c (number, '.');
              p++;
              while (g_ascii_isdigit (*p))
                g_string_append_c (number, *p++);
            }
          token.type = TOKEN_NUMBER;
          token.value = g_ascii_strtod (number->str, NULL);
          g_string_free (number, TRUE);
          g_array_append_val (tokens, token);
          continue;
        }
      if (g_ascii_isalpha (*p))
        {
          const char *start = p;
          g_autofree char *word = NULL;
          g_autofree char *next = NULL;
          const char *q;
          gboolean skip_next;

          while (g_ascii_isalpha (*p))
            p++;
          word = g_strndup (start, p - start);
          for (q = p; *q == ' '; q++)
            ;
          start = q;
          while (g_ascii_isalpha (*q))
            q++;
          next = g_strndup (start, q - start);
          token.type = TOKEN_AXIS;
          token.axis = axis_of_word (word, next, &skip_next);
          if (token.axis == 0)
            return FALSE;
          if (skip_next)
            p = q;
          g_array_append_val (tokens, token);
          continue;
        }

      switch (c)
        {
        case 0x00B0:  /* ° */
        case 0x00BA:  /* º */
        case 0x02DA:  /* ˚ */
          token.type = TOKEN_DEGREES;
          break;
        case '\'':
          if (p[1] == '\'')
            {
              p++;
              token.type = TOKEN_SECONDS;
            }
          else
            token.type = TOKEN_MINUTES;
          break;
        case 0x2032:  /* ′ */
        case 0x2019:  /* ’ */
        case 0x00B4:  /* ´ */
          token.type = TOKEN_MINUTES;
          break;
        case '"':
        case 0x2033:  /* ″ */
        case 0x201D:  /* ” */
        case 0x201C:  /* “ */
          token.type = TOKEN_SECONDS;
          break;
        case ' ':
        case ',':
        case ';':
        case ':':
        case '=':
          p = g_utf8_next_char (p);
          continue;
        default:
          return FALSE;
        }
      g_array_append_val (tokens, token);
      p = g_utf8_next_char (p);
    }
  return TRUE;
}

/* Groups tokens into exactly two values, each a number or degrees with
 * optional minutes and seconds, with an optional axis letter before or
 * after it. */
static gboolean
group_coordinate (GArray *tokens, CoordValue values[2])
{
  guint n = 0;
  char pending = 0;
  gboolean last_was_value = FALSE;

  for (guint i = 0; i < tokens->len;)
    {
      Token *t = &g_array_index (tokens, Token, i);

      if (t->type == TOKEN_AXIS)
        {
          if (last_was_value && values[n - 1].axis == 0 && pending == 0)
            values[n - 1].axis = t->axis;
          else if (pending == 0)
            pending = t->axis;
          else
            return FALSE;
          last_was_value = FALSE;
          i++;
          continue;
        }
      if (t->type != TOKEN_NUMBER || n == 2)
        return FALSE;

      values[n] = (CoordValue) { t->value, FALSE, t->fraction, pending };
      pending = 0;
      i++;
      if (i < tokens->len && g_array_index (tokens, Token, i).type == TOKEN_DEGREES)
        {
          double sign = t->value < 0 ? -1.0 : 1.0;
          double deg = fabs (t->value), min = 0, sec = 0;
          Token *u;

          values[n].dms = TRUE;
          i++;
          if (i + 1 < tokens->len && (u = &g_array_index (tokens, Token, i))->type == TOKEN_NUMBER
              && g_array_index (tokens, Token, i + 1).type == TOKEN_MINUTES)
            {
              min = u->value;
              i += 2;
              if (i + 1 < tokens->len
                  && (u = &g_array_index (tokens, Token, i))->type == TOKEN_NUMBER
                  && g_array_index (tokens, Token, i + 1).type == TOKEN_SECONDS)
                {
                  sec = u->value;
                  i += 2;
                }
            }
          if (min < 0 || min >= 60 || sec < 0 || sec >= 60)
            return FALSE;
          values[n].value = sign * (deg + min / 60.0 + sec / 3600.0);
        }
      else if (i < tokens->len && g_array_index (tokens, Token, i).type != TOKEN_AXIS
               && g_array_index (tokens, Token, i).type != TOKEN_NUMBER)
        return FALSE;
      n++;
      last_was_value = TRUE;
    }
  return n == 2 && pending == 0;
}

static gboolean
is_northing (double v)
{
  return v >= NORTHING_MIN && v <= NORTHING_MAX;
}

static gboolean
is_easting (double v)
{
  return v >= EASTING_MIN && v <= EASTING_MAX;
}

/* Reads @values as a place: *geographic tells whether @a/@b are latitude
 * and longitude (degrees) or northing and easting (metres). */
static gboolean
interpret_coordinate (CoordValue values[2], gboolean *geographic, double *north, double *east)
{
  CoordValue *v = values;
  gboolean xy = FALSE, letters = FALSE, small;

  for (int i = 0; i < 2; i++)
    {
      xy |= v[i].axis == 'x' || v[i].axis == 'y';
      letters |= v[i].axis != 0;
    }

  if (xy)
    {
      /* Survey convention: X is the northing, Y the easting. */
      int ix, iy;

      if ((v[0].axis == 'x' || v[0].axis == 0) && (v[1].axis == 'y' || v[1].axis == 0))
        ix = 0, iy = 1;
      else if ((v[0].axis == 'y' || v[0].axis == 0) && (v[1].axis == 'x' || v[1].axis == 0))
        ix = 1, iy = 0;
      else
        return FALSE;
      if (v[0].dms || v[1].dms)
        return FALSE;
      *geographic = FALSE;
      *north = v[ix].value;
      *east = v[iy].value;
      return TRUE;
    }

  small = fabs (v[0].value) <= 180.0 && fabs (v[1].value) <= 180.0;
  if (v[0].dms || v[1].dms || (small && (letters || v[0].fraction || v[1].fraction)))
    {
      int ilat = -1, ilon = -1;

      if (!small)
        return FALSE;
      for (int i = 0; i < 2; i++)
        {
          if (v[i].axis == 'n' || v[i].axis == 's')
            {
              if (ilat >= 0)
                return FALSE;
              ilat = i;
            }
          else if (v[i].axis == 'e' || v[i].axis == 'w')
            {
              if (ilon >= 0)
                return FALSE;
              ilon = i;
            }
        }
      if (ilat < 0 && ilon < 0)
        {
          /* Latitude first, as GPS receivers and web maps write it, unless
           * only the other order makes sense. */
          ilat = fabs (v[0].value) > 90.0 && fabs (v[1].value) <= 90.0 ? 1 : 0;
          ilon = 1 - ilat;
        }
      else if (ilat < 0)
        ilat = 1 - ilon;
      else if (ilon < 0)
        ilon = 1 - ilat;

      *north = v[ilat].value * (v[ilat].axis == 's' ? -1.0 : 1.0);
      *east = v[ilon].value * (v[ilon].axis == 'w' ? -1.0 : 1.0);
      if (v[ilat].axis == 's' && v[ilat].value < 0)
        return FALSE;
      if (v[ilon].axis == 'w' && v[ilon].value < 0)
        return FALSE;
      if (fabs (*north) > 90.0 || fabs (*east) > 180.0)
        return FALSE;
      *geographic = TRUE;
      return TRUE;
    }

  if (small)
    return FALSE;
  if (fabs (v[0].value) <= 180.0 || fabs (v[1].value) <= 180.0)
    return FALSE;

  *geographic = FALSE;
  if (letters)
    {
      int in = -1, ie = -1;

      for (int i = 0; i < 2; i++)
        {
          if (v[i].axis == 'n')
            in = i;
          else if (v[i].axis == 'e')
            ie = i;
          else if (v[i].axis != 0)
            return FALSE;
        }
      if (in < 0 && ie < 0)
        return FALSE;
      if (in < 0)
        in = 1 - ie;
      if (ie < 0)
        ie = 1 - in;
      if (in == ie)
        return FALSE;
      *north = v[in].value;
      *east = v[ie].value;
      return TRUE;
    }

  /* Bare numbers: X (northing) first, the other order only when the
   * magnitudes leave no doubt. */
  if (is_northing (v[0].value) && is_easting (v[1].value))
    {
      *north = v[0].value;
      *east = v[1].value;
      return TRUE;
    }
  if (is_easting (v[0].value) && is_northing (v[1].value))
    {
      *north = v[1].value;
      *east = v[0].value;
      return TRUE;
    }
  return FALSE;
}

static gboolean
parse_coordinate (const char *folded, gboolean *geographic, double *north, double *east)
{
  /* A comma is a decimal separator only when there is no point anywhere
   * and reading it so still gives two values ("12,68 108,05"); otherwise it
   * separates ("1403000,458000"). */
  for (int pass = 0; pass < 2; pass++)
    {
      gboolean comma_decimal = pass == 0;
      g_autoptr(GArray) tokens = g_array_new (FALSE, TRUE, sizeof (Token));
      CoordValue values[2];

      if (comma_decimal && strchr (folded, '.') != NULL)
        continue;
      if (tokenize_coordinate (folded, comma_decimal, tokens)
          && group_coordinate (tokens, values)
          && interpret_coordinate (values, geographic, north, east))
        return TRUE;
    }
  return FALSE;
}

static char *
format_fixed (double value, int decimals)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char format[8];

  g_snprintf (format, sizeof format, "%%.%df", decimals);
  return g_strdup (g_ascii_formatd (buf, sizeof buf, format, value));
}

static char *
format_latitude (double lat)
{
  g_autofree char *n = format_fixed (fabs (lat), 7);

  /* Translators: a latitude south of the equator; the search entry reads N, S, E and W back */
  if (lat < 0)
    return g_strdup_printf (_("%s° S"), n);
  /* Translators: a latitude north of the equator; the search entry reads N, S, E and W back */
  return g_strdup_printf (_("%s° N"), n);
}

static char *
format_longitude (double lon)
{
  g_autofree char *n = format_fixed (fabs (lon), 7);

  /* Translators: a longitude west of Greenwich; the search entry reads N, S, E and W back */
  if (lon < 0)
    return g_strdup_printf (_("%s° W"), n);
  /* Translators: a longitude east of Greenwich; the search entry reads N, S, E and W back */
  return g_strdup_printf (_("%s° E"), n);
}

static DothiSearchResult *
search_coordinate (Session *session, gboolean geographic, double north, double east,
                   GError **error)
{
  PJ *pj = session_get_transform (session, 4326);
  DothiSearchResult *result;
  g_autofree char *x_text = NULL;
  g_autofree char *y_text = NULL;
  g_autofree char *crs_name = NULL;
  g_autofree char *projected = NULL;
  g_autofree char *crs_code = g_strdup_printf ("EPSG:%d", session->srid);
  double x = east, y = north, lat = NAN, lon = NAN;

  if (pj == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                   /* Translators: a CRS code, then a file name */
                   _("PROJ cannot convert WGS 84 coordinates to %s, the CRS of “%s”"),
                   crs_code, session->path);
      return NULL;
    }
  if (geographic)
    {
      PJ_COORD c = proj_trans (pj, PJ_FWD, proj_coord (east, north, 0, 0));

      lat = north;
      lon = east;
      x = c.xy.x;
      y = c.xy.y;
      if (!isfinite (x) || !isfinite (y))
        return NULL;
    }
  else
    {
      PJ_COORD c = proj_trans (pj, PJ_INV, proj_coord (east, north, 0, 0));

      if (isfinite (c.lp.lam) && isfinite (c.lp.phi))
        {
          lon = c.lp.lam;
          lat = c.lp.phi;
        }
    }

  {
    g_autoptr(PJ) crs = proj_create (session_get_proj (session), crs_code);
    const char *name = crs ? proj_get_name (crs) : NULL;

    crs_name = g_strdup (name ? name : crs_code);
  }

  x_text = format_fixed (y, 2);    /* survey X: the northing */
  y_text = format_fixed (x, 2);    /* survey Y: the easting */
  /* Translators: VN-2000 survey coordinates: X is the northing, Y the easting, in metres */
  projected = g_strdup_printf (_("X %s, Y %s"), x_text, y_text);

  result = g_new0 (DothiSearchResult, 1);
  result->kind = DOTHI_SEARCH_COORDINATE;
  result->fid = -1;
  if (isfinite (lat))
    {
      g_autofree char *lat_text = format_latitude (lat);
      g_autofree char *lon_text = format_longitude (lon);

      result->label = geographic ? g_strdup_printf ("%s, %s", lat_text, lon_text)
                                 : g_strdup (projected);
      /* Translators: survey coordinates, the CRS name, then latitude and longitude */
      result->detail = g_strdup_printf (_("%s (%s); %s, %s (WGS 84)"), projected, crs_name,
                                        lat_text, lon_text);
    }
  else
    {
      result->label = g_strdup (projected);
      result->detail = g_strdup_printf ("%s (%s)", projected, crs_name);
    }
  result->bbox[0] = x - COORDINATE_HALF_BOX;
  result->bbox[1] = y - COORDINATE_HALF_BOX;
  result->bbox[2] = x + COORDINATE_HALF_BOX;
  result->bbox[3] = y + COORDINATE_HALF_BOX;
  return result;
}

/* ---- named features ---------------------------------------------------- */

typedef struct {
  DothiSearchResult *result;
  int                rank;       /* 0 exact, 1 prefix, 2 word prefix, 3 inside */
  int                priority;   /* 0 names, 1 other names, 2 codes */
  guint              layer;      /* index in the session, topmost first */
  char              *key;        /* folded label */
} Candidate;

static void
candidate_free (Candidate *candidate)
{
  dothi_search_result_free (candidate->result);
  g_free (candidate->key);
  g_free (candidate);
}

static int
compare_candidates (gconstpointer a, gconstpointer b)
{
  const Candidate *x = *(Candidate * const *) a;
  const Candidate *y = *(Candidate * const *) b;
  int c;

  if (x->rank != y->rank)
    return x->rank - y->rank;
  if (x->priority != y->priority)
    return x->priority - y->priority;
  if (x->layer != y->layer)
    return x->layer < y->layer ? -1 : 1;
  if ((c = strcmp (x->key, y->key)) != 0)
    return c;
  return x->result->fid < y->result->fid ? -1 : x->result->fid > y->result->fid;
}

/* -1 when @name is not a name field, else its priority. */
static int
name_field_priority (const Column *column)
{
  g_autofree char *lower = g_ascii_strdown (column->name, -1);

  if (!column->is_text)
    return -1;
  if (strcmp (lower, "ten") == 0 || strcmp (lower, "name") == 0
      || strcmp (lower, "ten_duong") == 0)
    return 0;
  if (g_str_has_prefix (lower, "ten"))
    return 1;
  if (g_str_has_prefix (lower, "ma_"))
    return 2;
  return -1;
}

static gboolean
search_field (Session *session, guint layer_index, const Column *column, int priority,
              const char *folded, guint cap, GPtrArray *candidates, GError **error)
{
  Layer *layer = g_ptr_array_index (session->layers, layer_index);
  /* A street is many segments: one result per distinct name. */
  gboolean merge = layer->kind == DOTHI_GEOMETRY_KIND_MULTILINESTRING;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  const char *rank = "CASE WHEN k = ?1 THEN 0 WHEN instr(k, ?1) = 1 THEN 1 "
                     "WHEN instr(' ' || k, ' ' || ?1) > 0 THEN 2 ELSE 3 END";
  int rc;

  if (merge)
    sql = sqlite3_mprintf ("SELECT MIN(pk), MIN(v), MIN(MbrMinX(g)), MIN(MbrMinY(g)), "
                           "MAX(MbrMaxX(g)), MAX(MbrMaxY(g)), MIN(%s) AS r, k FROM "
                           "(SELECT \"%w\" AS pk, \"%w\" AS v, \"%w\" AS g, dothi_fold(\"%w\") AS k "
                           "FROM \"%w\" WHERE \"%w\" IS NOT NULL AND \"%w\" IS NOT NULL) "
                           "WHERE instr(k, ?1) > 0 GROUP BY k ORDER BY r, k LIMIT ?2",
                           rank, layer->pk, column->name, layer->geom, column->name,
                           layer->name, column->name, layer->geom);
  else
    sql = sqlite3_mprintf ("SELECT pk, v, MbrMinX(g), MbrMinY(g), MbrMaxX(g), MbrMaxY(g), "
                           "%s AS r, k FROM "
                           "(SELECT \"%w\" AS pk, \"%w\" AS v, \"%w\" AS g, dothi_fold(\"%w\") AS k "
                           "FROM \"%w\" WHERE \"%w\" IS NOT NULL AND \"%w\" IS NOT NULL) "
                           "WHERE instr(k, ?1) > 0 ORDER BY r, k, pk LIMIT ?2",
                           rank, layer->pk, column->name, layer->geom, column->name,
                           layer->name, column->name, layer->geom);
  if (!prepare (session, sql, &stmt, layer->name, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, folded, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (stmt, 2, (int) cap);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      Candidate *candidate = g_new0 (Candidate, 1);
      DothiSearchResult *result = g_new0 (DothiSearchResult, 1);

      result->kind = DOTHI_SEARCH_FEATURE;
      result->layer = g_strdup (layer->name);
      result->layer_title = g_strdup (layer->title);
      result->fid = sqlite3_column_int64 (stmt, 0);
      result->label = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      result->detail = g_strdup (layer->title);
      for (int k = 0; k < 4; k++)
        result->bbox[k] = sqlite3_column_type (stmt, 2 + k) == SQLITE_NULL
                            ? NAN : sqlite3_column_double (stmt, 2 + k);
      if (isfinite (result->bbox[0]))
        bbox_to_project (session, layer->srid, result->bbox);
      candidate->result = result;
      candidate->rank = sqlite3_column_int (stmt, 6);
      candidate->priority = priority;
      candidate->layer = layer_index;
      candidate->key = g_strdup ((const char *) sqlite3_column_text (stmt, 7));
      g_ptr_array_add (candidates, candidate);
    }
  if (rc != SQLITE_DONE)
    return set_db_error (session, layer->name, error);
  return TRUE;
}

static gboolean
search_features (Session *session, const char *folded, guint limit, GPtrArray *results,
                 GError **error)
{
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) candidate_free);

  for (guint i = 0; i < session->layers->len; i++)
    {
      Layer *layer = g_ptr_array_index (session->layers, i);

      if (layer->geom == NULL)
        continue;
      for (guint c = 0; c < layer->columns->len; c++)
        {
          const Column *column = g_ptr_array_index (layer->columns, c);
          int priority = name_field_priority (column);

          if (priority < 0)
            continue;
          if (g_cancellable_set_error_if_cancelled (session->cancellable, error))
            return FALSE;
          /* The best @limit of each field hold the best @limit of all. */
          if (!search_field (session, i, column, priority, folded, limit, candidates, error))
            return FALSE;
        }
    }

  g_ptr_array_sort (candidates, compare_candidates);
  for (guint i = 0; i < candidates->len && results->len < limit; i++)
    {
      Candidate *candidate = g_ptr_array_index (candidates, i);

      g_ptr_array_add (results, g_steal_pointer (&candidate->result));
    }
  return TRUE;
}

/* ---- search ------------------------------------------------------------ */

GPtrArray *
dothi_search_sync (const char *path, const char *text, guint limit,
                   GCancellable *cancellable, GError **error)
{
  g_autoptr(GPtrArray) results =
    g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_search_result_free);
  g_autoptr(Session) session = NULL;
  g_autofree char *folded = NULL;
  gboolean geographic;
  double north, east;
  gint64 sheet, parcel;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_exists (path, error))
    return NULL;
  folded = dothi_text_fold (text);
  if (*folded == '\0' || limit == 0)
    return g_steal_pointer (&results);

  session = session_open (path, cancellable, error);
  if (session == NULL)
    return NULL;

  if (parse_coordinate (folded, &geographic, &north, &east))
    {
      g_autoptr(GError) local_error = NULL;
      DothiSearchResult *result = search_coordinate (session, geographic, north, east,
                                                     &local_error);

      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      if (result != NULL)
        g_ptr_array_add (results, result);
      /* Bare numbers name no feature. */
      return g_steal_pointer (&results);
    }

  if (parse_parcel (folded, &sheet, &parcel)
      && !search_parcels (session, sheet, parcel, limit, results, error))
    return NULL;

  if (results->len < limit && g_utf8_strlen (folded, -1) >= 2
      && !search_features (session, folded, limit, results, error))
    return NULL;

  return g_steal_pointer (&results);
}

typedef struct {
  char  *path;
  char  *text;
  guint  limit;
  char **layers;
  double x, y, tolerance;
} TaskData;

static void
task_data_free (TaskData *data)
{
  g_free (data->path);
  g_free (data->text);
  g_strfreev (data->layers);
  g_free (data);
}

static void
search_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TaskData *data = task_data;
  GError *error = NULL;
  GPtrArray *results = dothi_search_sync (data->path, data->text, data->limit, cancellable, &error);

  if (results == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, results, (GDestroyNotify) g_ptr_array_unref);
}

void
dothi_search_async (const char *path, const char *text, guint limit,
                    GCancellable *cancellable, GAsyncReadyCallback callback,
                    gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  TaskData *data;

  g_return_if_fail (path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, dothi_search_async);
  data = g_new0 (TaskData, 1);
  data->path = g_strdup (path);
  data->text = g_strdup (text);
  data->limit = limit;
  g_task_set_task_data (task, data, (GDestroyNotify) task_data_free);
  g_task_run_in_thread (task, search_thread);
}

GPtrArray *
dothi_search_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == dothi_search_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- identify ---------------------------------------------------------- */

static char *
format_value (sqlite3_stmt *stmt, int column)
{
  switch (sqlite3_column_type (stmt, column))
    {
    case SQLITE_NULL:
      return NULL;
    case SQLITE_INTEGER:
      return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) sqlite3_column_int64 (stmt, column));
    case SQLITE_FLOAT:
      return format_real (sqlite3_column_double (stmt, column));
    case SQLITE_BLOB:
      {
        int n = sqlite3_column_bytes (stmt, column);

        /* Translators: the value of a BLOB field in the identify panel */
        return g_strdup_printf (ngettext ("%d byte of binary data", "%d bytes of binary data", n), n);
      }
    default:
      return g_strdup ((const char *) sqlite3_column_text (stmt, column));
    }
}

static gboolean
identify_layer (Session *session, Layer *layer, double x, double y, double tolerance,
                GPtrArray *results, GError **error)
{
  g_autoptr(GString) sql = g_string_new ("SELECT ");
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) tail = NULL;
  guint nc = layer->columns->len;
  int rc;

  if (layer->geom == NULL)
    return TRUE;

  /* The point into the layer's CRS when it kept a zone of its own. */
  if (layer->srid != session->srid && layer->srid != 0)
    {
      PJ *pj = session_get_transform (session, layer->srid);
      PJ_COORD c;

      if (pj == NULL)
        return TRUE;
      c = proj_trans (pj, PJ_INV, proj_coord (x, y, 0, 0));
      if (!isfinite (c.xy.x) || !isfinite (c.xy.y))
        return TRUE;
      if (proj_degree_output (pj, PJ_INV))
        tolerance /= 111320.0;
      x = c.xy.x;
      y = c.xy.y;
    }

  {
    g_autoptr(DothiSqlStr) pk = sqlite3_mprintf ("\"%w\"", layer->pk);
    g_string_append (sql, pk);
  }
  for (guint i = 0; i < nc; i++)
    {
      const Column *column = g_ptr_array_index (layer->columns, i);
      g_autoptr(DothiSqlStr) col = sqlite3_mprintf (", \"%w\"", column->name);

      g_string_append (sql, col);
    }
  if (layer->index != NULL)
    tail = sqlite3_mprintf (", MbrMinX(\"%w\"), MbrMinY(\"%w\"), MbrMaxX(\"%w\"), MbrMaxY(\"%w\"), "
                            "ST_Distance(\"%w\", MakePoint(?1, ?2, ?4)) AS d FROM \"%w\" "
                            "WHERE \"%w\" IN (SELECT pkid FROM \"%w\" WHERE xmin <= ?1 + ?3 "
                            "AND xmax >= ?1 - ?3 AND ymin <= ?2 + ?3 AND ymax >= ?2 - ?3) "
                            "AND d <= ?3 ORDER BY d, 1 LIMIT %d",
                            layer->geom, layer->geom, layer->geom, layer->geom, layer->geom,
                            layer->name, layer->pk, layer->index, IDENTIFY_MAX_PER_LAYER);
  else
    tail = sqlite3_mprintf (", MbrMinX(\"%w\"), MbrMinY(\"%w\"), MbrMaxX(\"%w\"), MbrMaxY(\"%w\"), "
                            "ST_Distance(\"%w\", MakePoint(?1, ?2, ?4)) AS d FROM \"%w\" "
                            "WHERE MbrMinX(\"%w\") <= ?1 + ?3 AND MbrMaxX(\"%w\") >= ?1 - ?3 "
                            "AND MbrMinY(\"%w\") <= ?2 + ?3 AND MbrMaxY(\"%w\") >= ?2 - ?3 "
                            "AND d <= ?3 ORDER BY d, 1 LIMIT %d",
                            layer->geom, layer->geom, layer->geom, layer->geom, layer->geom,
                            layer->name, layer->geom, layer->geom, layer->geom, layer->geom,
                            IDENTIFY_MAX_PER_LAYER);
  g_string_append (sql, tail);

  if (!prepare (session, sql->str, &stmt, layer->name, error))
    return FALSE;
  sqlite3_bind_double (stmt, 1, x);
  sqlite3_bind_double (stmt, 2, y);
  sqlite3_bind_double (stmt, 3, tolerance);
  sqlite3_bind_int (stmt, 4, layer->srid);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      DothiIdentifyResult *result = g_new0 (DothiIdentifyResult, 1);

      result->layer = g_strdup (layer->name);
      result->layer_title = g_strdup (layer->title);
      result->fid = sqlite3_column_int64 (stmt, 0);
      result->names = g_ptr_array_new_full (nc, g_free);
      result->values = g_ptr_array_new_full (nc, g_free);
      for (guint i = 0; i < nc; i++)
        {
          const Column *column = g_ptr_array_index (layer->columns, i);

          g_ptr_array_add (result->names, g_strdup (column->name));
          g_ptr_array_add (result->values, format_value (stmt, (int) i + 1));
        }
      for (int k = 0; k < 4; k++)
        result->bbox[k] = sqlite3_column_double (stmt, (int) nc + 1 + k);
      bbox_to_project (session, layer->srid, result->bbox);
      g_ptr_array_add (results, result);
    }
  if (rc != SQLITE_DONE)
    return set_db_error (session, layer->name, error);
  return TRUE;
}

GPtrArray *
dothi_identify_sync (const char *path, const char * const *layers, double x, double y,
                     double tolerance, GCancellable *cancellable, GError **error)
{
  g_autoptr(GPtrArray) results =
    g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_identify_result_free);
  g_autoptr(GPtrArray) chosen = g_ptr_array_new ();
  g_autoptr(Session) session = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  session = session_open (path, cancellable, error);
  if (session == NULL)
    return NULL;
  if (!isfinite (x) || !isfinite (y))
    return g_steal_pointer (&results);
  if (!(tolerance >= 0.0))
    tolerance = 0.0;

  if (layers == NULL)
    {
      for (guint i = 0; i < session->layers->len; i++)
        {
          Layer *layer = g_ptr_array_index (session->layers, i);

          if (layer->visible)
            g_ptr_array_add (chosen, layer);
        }
    }
  else
    for (guint n = 0; layers[n] != NULL; n++)
      {
        Layer *found = NULL;

        for (guint i = 0; i < session->layers->len && found == NULL; i++)
          {
            Layer *layer = g_ptr_array_index (session->layers, i);

            if (strcmp (layer->name, layers[n]) == 0)
              found = layer;
          }
        if (found == NULL)
          {
            g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                         /* Translators: layer name, file name */
                         _("There is no layer “%s” in “%s”"), layers[n], path);
            return NULL;
          }
        g_ptr_array_add (chosen, found);
      }

  for (guint i = 0; i < chosen->len; i++)
    {
      if (g_cancellable_set_error_if_cancelled (session->cancellable, error))
        return NULL;
      if (!identify_layer (session, g_ptr_array_index (chosen, i), x, y, tolerance, results, error))
        return NULL;
    }
  return g_steal_pointer (&results);
}

static void
identify_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TaskData *data = task_data;
  GError *error = NULL;
  GPtrArray *results = dothi_identify_sync (data->path, (const char * const *) data->layers,
                                            data->x, data->y, data->tolerance, cancellable,
                                            &error);

  if (results == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, results, (GDestroyNotify) g_ptr_array_unref);
}

void
dothi_identify_async (const char *path, const char * const *layers, double x, double y,
                      double tolerance, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  TaskData *data;

  g_return_if_fail (path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, dothi_identify_async);
  data = g_new0 (TaskData, 1);
  data->path = g_strdup (path);
  data->layers = g_strdupv ((char **) layers);
  data->x = x;
  data->y = y;
  data->tolerance = tolerance;
  g_task_set_task_data (task, data, (GDestroyNotify) task_data_free);
  g_task_run_in_thread (task, identify_thread);
}

GPtrArray *
dothi_identify_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == dothi_identify_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
