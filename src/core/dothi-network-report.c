/* dothi-network-report.c: what an isolation gives the crew: the valves to
 * close and the customers to notify as CSV or GeoJSON (WGS 84), and the
 * A4 work order drawn with the print context over a map of the area. */
#define G_LOG_DOMAIN "dothi-network-report"

#include "config.h"
#include "dothi-network-report.h"

#include "dothi-autocleanups.h"
#include "dothi-error.h"
#include "dothi-map-transform.h"
#include "dothi-print-private.h"
#include "dothi-spatialite-blob.h"

#include <cairo-pdf.h>
#include <errno.h>
#include <fcntl.h>
#include <geos_c.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

/* The page, mm: A4 portrait, with the margins of the parcel extract. */
#define PAGE_W     210.0
#define PAGE_H     297.0
#define LEFT       20.0
#define RIGHT      195.0
#define TOP        14.0
#define BOTTOM     282.0
#define CONTENT_W  (RIGHT - LEFT)
#define MAP_H      80.0
/* Room for the grid's labels above and below the map. */
#define GRID_LABEL_H 5.0
/* Room the signatures take at the end. */
#define SIGN_H     30.0
#define ROW_H      5.6
#define HEAD_H     6.4

/* A lost pipe's colour on the work order and the break's. */
#define LOST_R 0.85
#define LOST_G 0.0
#define LOST_B 0.55

typedef struct {
  double x, y;
} Pt;

/* ---- reading the lines behind the edges ----------------------------------- */

typedef struct {
  sqlite3    *db;          /* borrowed */
  GHashTable *lines;       /* "layer\nfid" -> GPtrArray of GArray (Pt) parts */
} Lines;

static void
lines_init (Lines *lines, sqlite3 *db)
{
  lines->db = db;
  lines->lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_ptr_array_unref);
}

static void
lines_clear (Lines *lines)
{
  g_clear_pointer (&lines->lines, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Lines, lines_clear)

static gboolean
set_db_error (sqlite3 *db, const char *layer, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: layer name, SQLite's message */
               _("Cannot read layer “%s”: %s"), layer, sqlite3_errmsg (db));
  return FALSE;
}

/* Adds the line parts of OGR geometry @g to @parts. */
static void
collect_parts (OGRGeometryH g, GPtrArray *parts)
{
  OGRwkbGeometryType type = wkbFlatten (OGR_G_GetGeometryType (g));

  if (type == wkbLineString)
    {
      int n = OGR_G_GetPointCount (g);
      GArray *part = g_array_sized_new (FALSE, FALSE, sizeof (Pt), n);

      for (int i = 0; i < n; i++)
        {
          Pt p = { OGR_G_GetX (g, i), OGR_G_GetY (g, i) };
          g_array_append_val (part, p);
        }
      g_ptr_array_add (parts, part);
    }
  else if (type == wkbMultiLineString || type == wkbGeometryCollection)
    for (int i = 0; i < OGR_G_GetGeometryCount (g); i++)
      collect_parts (OGR_G_GetGeometryRef (g, i), parts);
}

/* The line parts (GArray of Pt) of feature @fid of @layer, borrowed from
 * the cache; an empty array for a feature without geometry. */
static GPtrArray *
lines_get (Lines *lines, const char *layer, gint64 fid, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%s\n%" G_GINT64_FORMAT, layer, fid);
  GPtrArray *parts = g_hash_table_lookup (lines->lines, key);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  int rc;

  if (parts != NULL)
    return parts;
  sql = sqlite3_mprintf ("SELECT geom FROM \"%w\" WHERE fid = ?1", layer);
  if (sqlite3_prepare_v2 (lines->db, sql, -1, &stmt, NULL) != SQLITE_OK
      || sqlite3_bind_int64 (stmt, 1, fid) != SQLITE_OK)
    {
      set_db_error (lines->db, layer, error);
      return NULL;
    }
  parts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW && sqlite3_column_type (stmt, 0) == SQLITE_BLOB)
    {
      g_autoptr(GByteArray) wkb = g_byte_array_new ();

      if (dothi_blob_to_wkb (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0),
                             wkb, NULL))
        {
          g_auto(OGRGeometryH) g = NULL;

          if (OGR_G_CreateFromWkb (wkb->data, NULL, &g, (int) wkb->len) == OGRERR_NONE
              && g != NULL)
            collect_parts (g, parts);
        }
    }
  else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      g_ptr_array_unref (parts);
      set_db_error (lines->db, layer, error);
      return NULL;
    }
  g_hash_table_insert (lines->lines, g_steal_pointer (&key), parts);
  return parts;
}

static double
parts_length (GPtrArray *parts)
{
  double total = 0;

  for (guint k = 0; k < parts->len; k++)
    {
      GArray *part = g_ptr_array_index (parts, k);

      for (guint i = 1; i < part->len; i++)
        {
          Pt a = g_array_index (part, Pt, i - 1), b = g_array_index (part, Pt, i);
          total += hypot (b.x - a.x, b.y - a.y);
        }
    }
  return total;
}

/* The pieces (GArray of Pt) of @parts between the shares @t0 and @t1 of
 * its length, parts taken one after the other. */
static GPtrArray *
parts_substring (GPtrArray *parts, double t0, double t1)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  double total = parts_length (parts);
  double from = CLAMP (MIN (t0, t1), 0, 1) * total, to = CLAMP (MAX (t0, t1), 0, 1) * total;
  double at = 0;

  for (guint k = 0; k < parts->len; k++)
    {
      GArray *part = g_ptr_array_index (parts, k);
      GArray *piece = NULL;

      for (guint i = 1; i < part->len; i++)
        {
          Pt a = g_array_index (part, Pt, i - 1), b = g_array_index (part, Pt, i);
          double len = hypot (b.x - a.x, b.y - a.y);
          double s0, s1;

          if (at + len < from || at > to || len == 0)
            {
              at += len;
              continue;
            }
          s0 = CLAMP ((from - at) / len, 0, 1);
          s1 = CLAMP ((to - at) / len, 0, 1);
          if (piece == NULL)
            {
              Pt p = { a.x + (b.x - a.x) * s0, a.y + (b.y - a.y) * s0 };

              piece = g_array_new (FALSE, FALSE, sizeof (Pt));
              g_array_append_val (piece, p);
            }
          {
            Pt p = { a.x + (b.x - a.x) * s1, a.y + (b.y - a.y) * s1 };
            g_array_append_val (piece, p);
          }
          at += len;
        }
      if (piece != NULL && piece->len >= 2)
        g_ptr_array_add (out, piece);
      else if (piece != NULL)
        g_array_unref (piece);
    }
  return out;
}

/* The pieces of edge @edge's line; NULL with @error on a read error. */
static GPtrArray *
edge_pieces (Lines *lines, DothiNetwork *network, guint edge, GError **error)
{
  DothiNetworkEdge e;
  GPtrArray *parts;

  if (!dothi_network_get_edge (network, edge, &e))
    return g_ptr_array_new ();
  parts = lines_get (lines, e.layer, e.fid, error);
  if (parts == NULL)
    return NULL;
  return parts_substring (parts, e.t0, e.t1);
}

/* The point halfway along @pieces, or FALSE when they are empty. */
static gboolean
pieces_midpoint (GPtrArray *pieces, Pt *out)
{
  double total = parts_length (pieces), at = 0;

  if (pieces->len == 0)
    return FALSE;
  for (guint k = 0; k < pieces->len; k++)
    {
      GArray *piece = g_ptr_array_index (pieces, k);

      if (piece->len > 0 && k == 0)
        *out = g_array_index (piece, Pt, 0);
      for (guint i = 1; i < piece->len; i++)
        {
          Pt a = g_array_index (piece, Pt, i - 1), b = g_array_index (piece, Pt, i);
          double len = hypot (b.x - a.x, b.y - a.y);

          if (len > 0 && at + len >= total / 2)
            {
              double s = (total / 2 - at) / len;

              out->x = a.x + (b.x - a.x) * s;
              out->y = a.y + (b.y - a.y) * s;
              return TRUE;
            }
          at += len;
        }
    }
  return TRUE;
}

/* ---- the layers' id fields ----------------------------------------------- */

/* A layer's text field that names its features: "id", then Vietnamese
 * codes ("ma_ong", "ma_van"), then "code"; NULL when it has none. The
 * network keeps the definition's id field for nodes only. */
static const char *
guess_id_field (const DothiLayerInfo *info)
{
  static const char * const exact[] = { "id", "ma", "code", "ma_so", NULL };

  if (info == NULL)
    return NULL;
  for (guint k = 0; exact[k] != NULL; k++)
    for (guint i = 0; i < info->fields->len; i++)
      {
        DothiField *f = g_ptr_array_index (info->fields, i);

        if (g_ascii_strcasecmp (f->name, exact[k]) == 0)
          return f->name;
      }
  for (guint i = 0; i < info->fields->len; i++)
    {
      DothiField *f = g_ptr_array_index (info->fields, i);

      if (f->type == DOTHI_FIELD_TEXT
          && (g_str_has_prefix (f->name, "ma_") || g_str_has_suffix (f->name, "_id")))
        return f->name;
    }
  return NULL;
}

static const DothiLayerInfo *
find_info (GPtrArray *layers, const char *name)
{
  for (guint i = 0; layers != NULL && i < layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (layers, i);

      if (g_strcmp0 (info->name, name) == 0)
        return info;
    }
  return NULL;
}

/* The text of field @field of feature @fid of @layer, or NULL. */
static char *
read_text (sqlite3 *db, const char *layer, const char *field, gint64 fid)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;

  if (field == NULL)
    return NULL;
  sql = sqlite3_mprintf ("SELECT \"%w\" FROM \"%w\" WHERE fid = ?1", field, layer);
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK
      || sqlite3_bind_int64 (stmt, 1, fid) != SQLITE_OK
      || sqlite3_step (stmt) != SQLITE_ROW
      || sqlite3_column_type (stmt, 0) == SQLITE_NULL)
    return NULL;
  return g_utf8_normalize ((const char *) sqlite3_column_text (stmt, 0), -1, G_NORMALIZE_NFC);
}

/* The id of the line feature behind edge @e: its id field's text, or
 * "fid N". */
static char *
edge_line_id (sqlite3 *db, GPtrArray *layers, const DothiNetworkEdge *e)
{
  const char *field = guess_id_field (find_info (layers, e->layer));
  char *id = read_text (db, e->layer, field, e->fid);

  if (id == NULL || *id == '\0')
    {
      g_free (id);
      id = g_strdup_printf ("fid %" G_GINT64_FORMAT, e->fid);
    }
  return id;
}

/* ---- CSV and GeoJSON ------------------------------------------------------ */

static const char *
state_name (DothiValveState state)
{
  switch (state)
    {
    case DOTHI_VALVE_CLOSED:
      return "closed";
    case DOTHI_VALVE_SEIZED:
      return "seized";
    case DOTHI_VALVE_OPEN:
    default:
      return "open";
    }
}

/* RFC 4180: a field with a separator, a quote, a line break or blanks at
 * either end is quoted, its quotes doubled. */
static void
append_csv_field (GString *out, const char *value)
{
  gsize len;

  if (value == NULL)
    return;
  len = strlen (value);
  if (strpbrk (value, ",\"\r\n") == NULL
      && (len == 0 || (!g_ascii_isspace (value[0]) && !g_ascii_isspace (value[len - 1]))))
    {
      g_string_append (out, value);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *c = value; *c != '\0'; c++)
    {
      if (*c == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *c);
    }
  g_string_append_c (out, '"');
}

static void
append_csv_number (GString *out, double value, int decimals)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char fmt[8];

  g_snprintf (fmt, sizeof fmt, "%%.%df", decimals);
  g_string_append (out, g_ascii_formatd (buf, sizeof buf, fmt, value));
}

static void
append_csv_row (GString *out, const char *role, guint number, const DothiNetworkNode *node)
{
  g_autofree char *nfc_id = node->id ? g_utf8_normalize (node->id, -1, G_NORMALIZE_NFC) : NULL;
  g_autofree char *nfc_kind = node->kind ? g_utf8_normalize (node->kind, -1, G_NORMALIZE_NFC) : NULL;

  append_csv_field (out, role);
  g_string_append_c (out, ',');
  if (number > 0)
    g_string_append_printf (out, "%u", number);
  g_string_append_c (out, ',');
  append_csv_field (out, nfc_id);
  g_string_append_c (out, ',');
  append_csv_field (out, node->role == DOTHI_NODE_CUSTOMER ? nfc_kind : NULL);
  g_string_append_c (out, ',');
  append_csv_field (out, node->layer);
  g_string_append_c (out, ',');
  if (node->layer != NULL)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, node->fid);
  g_string_append_c (out, ',');
  append_csv_number (out, node->x, 3);
  g_string_append_c (out, ',');
  append_csv_number (out, node->y, 3);
  g_string_append_c (out, ',');
  if (node->role == DOTHI_NODE_VALVE || node->role == DOTHI_NODE_SWITCH)
    g_string_append (out, state_name (node->state));
  g_string_append (out, "\r\n");
}

static gboolean
write_file (const char *path, const char *data, gsize len, GError **error)
{
  g_autoptr(GError) local_error = NULL;

  if (g_file_set_contents_full (path, data, len,
                                G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                0666, &local_error))
    return TRUE;
  g_set_error (error, DOTHI_ERROR,
               g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
               ? DOTHI_ERROR_NOT_FOUND : DOTHI_ERROR_FAILED,
               /* Translators: file name, then the reason */
               _("Cannot write “%s”: %s"), path, local_error->message);
  return FALSE;
}

/* One row a valve to close, then one a customer, in the project CRS
 * (easting, northing: named so, since the survey convention calls the
 * northing X). A BOM leads, so that spreadsheets read UTF-8. */
static gboolean
export_csv (DothiNetwork *network, DothiTrace *trace, const char *out_path, GError **error)
{
  g_autoptr(GString) out = g_string_new ("\xef\xbb\xbf");

  g_string_append (out, "role,number,id,kind,layer,fid,easting,northing,state\r\n");
  for (guint i = 0; trace->valves_to_close != NULL && i < trace->valves_to_close->len; i++)
    {
      DothiNetworkNode node;

      if (dothi_network_get_node (network, g_array_index (trace->valves_to_close, guint, i), &node))
        append_csv_row (out, "valve_to_close", i + 1, &node);
    }
  for (guint i = 0; trace->customers != NULL && i < trace->customers->len; i++)
    {
      DothiNetworkNode node;

      if (dothi_network_get_node (network, g_array_index (trace->customers, guint, i), &node))
        append_csv_row (out, "customer", 0, &node);
    }
  return write_file (out_path, out->str, out->len, error);
}

/* WGS 84 transforms, one per layer CRS. */
typedef struct {
  GHashTable *by_srid;   /* srid -> DothiMapTransform */
} Transforms;

static DothiMapTransform *
transform_for (Transforms *t, int srid, GError **error)
{
  DothiMapTransform *tr = g_hash_table_lookup (t->by_srid, GINT_TO_POINTER (srid));

  if (tr != NULL)
    return tr;
  tr = dothi_map_transform_new (srid, error);
  if (tr != NULL)
    g_hash_table_insert (t->by_srid, GINT_TO_POINTER (srid), tr);
  return tr;
}

/* [lon, lat], RFC 7946's order, to 1e-7° (about a centimetre). */
static gboolean
add_position (JsonBuilder *b, DothiMapTransform *tr, double x, double y)
{
  double lat, lon;

  if (!dothi_map_transform_to_wgs84 (tr, x, y, &lat, &lon))
    return FALSE;
  json_builder_begin_array (b);
  json_builder_add_double_value (b, round (lon * 1e7) / 1e7);
  json_builder_add_double_value (b, round (lat * 1e7) / 1e7);
  json_builder_end_array (b);
  return TRUE;
}

static void
add_string_member (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value == NULL)
    json_builder_add_null_value (b);
  else
    {
      g_autofree char *nfc = g_utf8_normalize (value, -1, G_NORMALIZE_NFC);
      json_builder_add_string_value (b, nfc);
    }
}

static gboolean
add_node_feature (JsonBuilder *b, Transforms *t, int srid, const char *role, guint number,
                  const DothiNetworkNode *node, GError **error)
{
  DothiMapTransform *tr = transform_for (t, srid, error);

  if (tr == NULL)
    return FALSE;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "Feature");
  json_builder_set_member_name (b, "geometry");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "Point");
  json_builder_set_member_name (b, "coordinates");
  if (!add_position (b, tr, node->x, node->y))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                   /* Translators: a feature id, then a layer name */
                   _("“%s” of layer “%s” has no position in WGS 84"),
                   node->id ? node->id : "", node->layer ? node->layer : "");
      return FALSE;
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "properties");
  json_builder_begin_object (b);
  add_string_member (b, "dothi:role", role);
  if (number > 0)
    {
      json_builder_set_member_name (b, "number");
      json_builder_add_int_value (b, number);
    }
  add_string_member (b, "id", node->id);
  add_string_member (b, "layer", node->layer);
  json_builder_set_member_name (b, "fid");
  if (node->layer != NULL)
    json_builder_add_int_value (b, node->fid);
  else
    json_builder_add_null_value (b);
  if (node->role == DOTHI_NODE_CUSTOMER)
    add_string_member (b, "kind", node->kind);
  if (node->role == DOTHI_NODE_VALVE || node->role == DOTHI_NODE_SWITCH)
    add_string_member (b, "state", state_name (node->state));
  json_builder_end_object (b);
  json_builder_end_object (b);
  return TRUE;
}

static gboolean
add_node_features (JsonBuilder *b, Transforms *t, int srid, DothiNetwork *network,
                   GArray *nodes, const char *role, gboolean numbered, GError **error)
{
  for (guint i = 0; nodes != NULL && i < nodes->len; i++)
    {
      DothiNetworkNode node;

      if (dothi_network_get_node (network, g_array_index (nodes, guint, i), &node)
          && !add_node_feature (b, t, srid, role, numbered ? i + 1 : 0, &node, error))
        return FALSE;
    }
  return TRUE;
}

/* The project's CRS: the layers of a network are in it. */
static int
project_srid (GPtrArray *layers)
{
  for (guint i = 0; layers != NULL && i < layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (layers, i);

      if (info->srid > 0)
        return info->srid;
    }
  return 0;
}

/* The lost pipes, one feature a line with the pieces it loses. */
static gboolean
add_lost_pipes (JsonBuilder *b, Transforms *t, sqlite3 *db, GPtrArray *layers,
                Lines *lines, DothiNetwork *network, DothiTrace *trace, GError **error)
{
  g_autoptr(GHashTable) by_line = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GPtrArray) order = g_ptr_array_new ();

  for (guint i = 0; trace->lost_edges != NULL && i < trace->lost_edges->len; i++)
    {
      guint edge = g_array_index (trace->lost_edges, guint, i);
      DothiNetworkEdge e;
      g_autofree char *key = NULL;
      GPtrArray *edges;

      if (!dothi_network_get_edge (network, edge, &e))
        continue;
      key = g_strdup_printf ("%s\n%" G_GINT64_FORMAT, e.layer, e.fid);
      edges = g_hash_table_lookup (by_line, key);
      if (edges == NULL)
        {
          edges = g_ptr_array_new ();
          g_ptr_array_add (order, key);
          g_hash_table_insert (by_line, g_steal_pointer (&key), edges);
        }
      g_ptr_array_add (edges, GUINT_TO_POINTER (edge));
    }

  for (guint k = 0; k < order->len; k++)
    {
      GPtrArray *edges = g_hash_table_lookup (by_line, g_ptr_array_index (order, k));
      DothiNetworkEdge e;
      g_autofree char *id = NULL;
      DothiMapTransform *tr;
      const DothiLayerInfo *info;
      double length = 0;

      dothi_network_get_edge (network, GPOINTER_TO_UINT (g_ptr_array_index (edges, 0)), &e);
      info = find_info (layers, e.layer);
      tr = transform_for (t, info != NULL ? info->srid : project_srid (layers), error);
      if (tr == NULL)
        return FALSE;
      id = edge_line_id (db, layers, &e);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "Feature");
      json_builder_set_member_name (b, "geometry");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "MultiLineString");
      json_builder_set_member_name (b, "coordinates");
      json_builder_begin_array (b);
      for (guint i = 0; i < edges->len; i++)
        {
          guint edge = GPOINTER_TO_UINT (g_ptr_array_index (edges, i));
          g_autoptr(GPtrArray) pieces = edge_pieces (lines, network, edge, error);
          DothiNetworkEdge ei;

          if (pieces == NULL)
            return FALSE;
          if (dothi_network_get_edge (network, edge, &ei))
            length += ei.length;
          for (guint p = 0; p < pieces->len; p++)
            {
              GArray *piece = g_ptr_array_index (pieces, p);

              json_builder_begin_array (b);
              for (guint v = 0; v < piece->len; v++)
                {
                  Pt pt = g_array_index (piece, Pt, v);

                  if (!add_position (b, tr, pt.x, pt.y))
                    {
                      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                                   /* Translators: a feature id, then a layer name */
                                   _("“%s” of layer “%s” has no position in WGS 84"),
                                   id, e.layer);
                      return FALSE;
                    }
                }
              json_builder_end_array (b);
            }
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      json_builder_set_member_name (b, "properties");
      json_builder_begin_object (b);
      add_string_member (b, "dothi:role", "lost_pipe");
      add_string_member (b, "id", id);
      add_string_member (b, "layer", e.layer);
      json_builder_set_member_name (b, "fid");
      json_builder_add_int_value (b, e.fid);
      json_builder_set_member_name (b, "length_m");
      json_builder_add_double_value (b, round (length * 100) / 100);
      json_builder_end_object (b);
      json_builder_end_object (b);
    }
  return TRUE;
}

static gboolean
export_geojson (const char *project_path, DothiNetwork *network, DothiTrace *trace,
                const char *out_path, GError **error)
{
  g_autoptr(DothiPrinter) printer = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_auto(Lines) lines = { 0 };
  Transforms t;
  g_autofree char *text = NULL;
  DothiPrintContext *ctx;
  gboolean ok;
  int srid;
  gsize len;

  /* The printer's connection and layer list serve here too. */
  printer = dothi_printer_new (project_path, error);
  if (printer == NULL)
    return FALSE;
  ctx = dothi_printer_get_context (printer);
  srid = ctx->srid > 0 ? ctx->srid : project_srid (ctx->layers);
  lines_init (&lines, ctx->db);
  t.by_srid = g_hash_table_new_full (NULL, NULL, NULL,
                                     (GDestroyNotify) dothi_map_transform_free);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "FeatureCollection");
  json_builder_set_member_name (b, "features");
  json_builder_begin_array (b);
  ok = add_node_features (b, &t, srid, network, trace->valves_to_close, "valve_to_close", TRUE, error)
       && add_node_features (b, &t, srid, network, trace->valves_closed, "valve_closed", FALSE, error)
       && add_node_features (b, &t, srid, network, trace->valves_seized, "valve_seized", FALSE, error)
       && add_node_features (b, &t, srid, network, trace->customers, "customer", FALSE, error)
       && add_lost_pipes (b, &t, ctx->db, ctx->layers, &lines, network, trace, error);
  g_hash_table_unref (t.by_srid);
  if (!ok)
    return FALSE;
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, &len);
  return write_file (out_path, text, len, error);
}

/* ---- district areas as polygons ------------------------------------------ */

/* A GEOS ring's points as a GeoJSON position array, in WGS 84. */
static gboolean
add_ring (JsonBuilder *b, GEOSContextHandle_t h, const GEOSGeometry *ring, DothiMapTransform *tr)
{
  const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r (h, ring);
  unsigned int n = 0;

  if (seq == NULL || !GEOSCoordSeq_getSize_r (h, seq, &n))
    return FALSE;
  json_builder_begin_array (b);
  for (unsigned int i = 0; i < n; i++)
    {
      double x, y;

      if (!GEOSCoordSeq_getXY_r (h, seq, i, &x, &y) || !add_position (b, tr, x, y))
        return FALSE;
    }
  json_builder_end_array (b);
  return TRUE;
}

/* @area (a Polygon or MultiPolygon) as GeoJSON MultiPolygon coordinates. */
static gboolean
add_multipolygon (JsonBuilder *b, GEOSContextHandle_t h, const GEOSGeometry *area, DothiMapTransform *tr)
{
  int type = GEOSGeomTypeId_r (h, area);
  int n = type == GEOS_POLYGON ? 1 : GEOSGetNumGeometries_r (h, area);

  json_builder_begin_array (b);
  for (int i = 0; i < n; i++)
    {
      const GEOSGeometry *polygon = type == GEOS_POLYGON ? area : GEOSGetGeometryN_r (h, area, i);
      int holes = GEOSGetNumInteriorRings_r (h, polygon);

      json_builder_begin_array (b);
      if (!add_ring (b, h, GEOSGetExteriorRing_r (h, polygon), tr))
        return FALSE;
      for (int k = 0; k < holes; k++)
        if (!add_ring (b, h, GEOSGetInteriorRingN_r (h, polygon, k), tr))
          return FALSE;
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
  return TRUE;
}

/* Zone @zone's pipes, every piece, as one GEOS MultiLineString. */
static GEOSGeometry *
zone_lines (GEOSContextHandle_t h, Lines *lines, DothiNetwork *network, DothiTrace *zone, GError **error)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  GEOSGeometry *multi;

  for (guint i = 0; i < zone->edges->len; i++)
    {
      g_autoptr(GPtrArray) pieces = edge_pieces (lines, network, g_array_index (zone->edges, guint, i), error);

      if (pieces == NULL)
        goto fail;
      for (guint p = 0; p < pieces->len; p++)
        {
          GArray *piece = g_ptr_array_index (pieces, p);
          GEOSCoordSequence *seq;

          if (piece->len < 2)
            continue;
          seq = GEOSCoordSeq_create_r (h, piece->len, 2);
          for (guint v = 0; v < piece->len; v++)
            GEOSCoordSeq_setXY_r (h, seq, v, g_array_index (piece, Pt, v).x, g_array_index (piece, Pt, v).y);
          g_ptr_array_add (parts, GEOSGeom_createLineString_r (h, seq));
        }
    }
  multi = GEOSGeom_createCollection_r (h, GEOS_MULTILINESTRING, (GEOSGeometry **) parts->pdata, parts->len);
  return multi;

fail:
  for (guint i = 0; i < parts->len; i++)
    GEOSGeom_destroy_r (h, parts->pdata[i]);
  return NULL;
}

gboolean
dothi_network_export_zones (const char    *project_path,
                            DothiNetwork  *network,
                            GPtrArray     *zones,
                            double         buffer_m,
                            const char    *out_path,
                            GError       **error)
{
  g_autoptr(DothiPrinter) printer = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_auto(Lines) lines = { 0 };
  g_autofree char *text = NULL;
  GEOSContextHandle_t h;
  DothiPrintContext *ctx;
  DothiMapTransform *tr;
  Transforms t;
  gboolean ok = TRUE;
  gsize len;
  int srid;

  g_return_val_if_fail (project_path != NULL, FALSE);
  g_return_val_if_fail (network != NULL, FALSE);
  g_return_val_if_fail (zones != NULL, FALSE);
  g_return_val_if_fail (out_path != NULL, FALSE);

  if (!(buffer_m > 0) || buffer_m > 1000)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: the distance drawn around a district's pipes */
                   _("The width around the pipes must be more than 0 and at most 1000 m"));
      return FALSE;
    }
  printer = dothi_printer_new (project_path, error);
  if (printer == NULL)
    return FALSE;
  ctx = dothi_printer_get_context (printer);
  srid = ctx->srid > 0 ? ctx->srid : project_srid (ctx->layers);
  lines_init (&lines, ctx->db);
  t.by_srid = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) dothi_map_transform_free);
  tr = transform_for (&t, srid, error);
  if (tr == NULL)
    {
      g_hash_table_unref (t.by_srid);
      return FALSE;
    }
  h = GEOS_init_r ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "FeatureCollection");
  json_builder_set_member_name (b, "features");
  json_builder_begin_array (b);
  for (guint z = 0; ok && z < zones->len; z++)
    {
      DothiTrace *zone = g_ptr_array_index (zones, z);
      GEOSGeometry *pipes = zone_lines (h, &lines, network, zone, error);
      GEOSGeometry *area = NULL;
      g_autoptr(GString) valves = g_string_new (NULL);

      if (pipes == NULL)
        {
          ok = FALSE;
          break;
        }
      /* Round ends and joins, 8 segments a quarter circle: an area that
       * reads as the district around its pipes. */
      area = GEOSBuffer_r (h, pipes, buffer_m, 8);
      GEOSGeom_destroy_r (h, pipes);
      if (area == NULL || GEOSisEmpty_r (h, area))
        {
          if (area != NULL)
            GEOSGeom_destroy_r (h, area);
          continue;
        }
      for (guint k = 0; k < zone->valves_to_close->len; k++)
        {
          DothiNetworkNode node;

          if (dothi_network_get_node (network, g_array_index (zone->valves_to_close, guint, k), &node))
            g_string_append_printf (valves, "%s%s", valves->len > 0 ? " " : "", node.id);
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "Feature");
      json_builder_set_member_name (b, "geometry");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "MultiPolygon");
      json_builder_set_member_name (b, "coordinates");
      ok = add_multipolygon (b, h, area, tr);
      json_builder_end_object (b);
      GEOSGeom_destroy_r (h, area);
      if (!ok)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                       /* Translators: a district's number */
                       _("District %u has no position in WGS 84"), z + 1);
          break;
        }
      json_builder_set_member_name (b, "properties");
      json_builder_begin_object (b);
      add_string_member (b, "dothi:role", "district");
      json_builder_set_member_name (b, "zone");
      json_builder_add_int_value (b, z + 1);
      json_builder_set_member_name (b, "n_pipes");
      json_builder_add_int_value (b, zone->edges->len);
      json_builder_set_member_name (b, "length_m");
      json_builder_add_double_value (b, round (zone->length * 100) / 100);
      json_builder_set_member_name (b, "customers");
      json_builder_add_int_value (b, zone->customers != NULL ? zone->customers->len : 0);
      add_string_member (b, "boundary_valves", valves->str);
      json_builder_end_object (b);
      json_builder_end_object (b);
    }
  GEOS_finish_r (h);
  g_hash_table_unref (t.by_srid);
  if (!ok)
    return FALSE;
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, &len);
  return write_file (out_path, text, len, error);
}

gboolean
dothi_network_export_trace (const char    *project_path,
                            DothiNetwork  *network,
                            DothiTrace    *trace,
                            const char    *out_path,
                            const char    *format,
                            GError       **error)
{
  const char *ext = NULL;
  const char *name;

  g_return_val_if_fail (project_path != NULL, FALSE);
  g_return_val_if_fail (network != NULL, FALSE);
  g_return_val_if_fail (trace != NULL, FALSE);
  g_return_val_if_fail (out_path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (format == NULL)
    {
      ext = strrchr (out_path, '.');
      if (ext != NULL && strchr (ext, G_DIR_SEPARATOR) == NULL)
        ext++;
      else
        ext = NULL;
    }
  name = format != NULL ? format : ext;
  if (name != NULL && g_ascii_strcasecmp (name, "csv") == 0)
    return export_csv (network, trace, out_path, error);
  if (name != NULL && (g_ascii_strcasecmp (name, "geojson") == 0
                       || g_ascii_strcasecmp (name, "json") == 0))
    return export_geojson (project_path, network, trace, out_path, error);
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
               /* Translators: file name; csv and geojson are format names */
               _("Cannot tell the format of “%s”: give csv or geojson"), out_path);
  return FALSE;
}

/* ---- the work order: text ------------------------------------------------- */

typedef enum {
  TEXT_BOLD   = 1 << 0,
  TEXT_ITALIC = 1 << 1,
  TEXT_CENTER = 1 << 2,
  TEXT_RIGHT  = 1 << 3,
} TextFlags;

static PangoLayout *
make_layout (cairo_t *cr, const char *text, double size_pt, guint flags, double width_mm)
{
  PangoLayout *layout = dothi_print_text_layout (cr, text, size_pt, (flags & TEXT_BOLD) != 0,
                                                 width_mm);

  if (flags & TEXT_ITALIC)
    {
      PangoFontDescription *desc = pango_font_description_copy (pango_layout_get_font_description (layout));

      pango_font_description_set_style (desc, PANGO_STYLE_ITALIC);
      pango_layout_set_font_description (layout, desc);
      pango_font_description_free (desc);
    }
  if (width_mm > 0)
    pango_layout_set_alignment (layout, (flags & TEXT_CENTER) ? PANGO_ALIGN_CENTER
                                        : (flags & TEXT_RIGHT) ? PANGO_ALIGN_RIGHT
                                        : PANGO_ALIGN_LEFT);
  return layout;
}

static void
layout_size (PangoLayout *layout, double *w, double *h)
{
  PangoRectangle logical;

  pango_layout_get_extents (layout, NULL, &logical);
  if (w != NULL)
    *w = (double) logical.width / PANGO_SCALE;
  if (h != NULL)
    *h = (double) logical.height / PANGO_SCALE;
}

/* Draws @text from (@x, @y), @w wide; returns its height. */
static double
draw_text (cairo_t *cr, double x, double y, double w, const char *text, double size_pt,
           guint flags)
{
  g_autoptr(PangoLayout) layout = make_layout (cr, text, size_pt, flags, w);
  double h;

  layout_size (layout, NULL, &h);
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
  cairo_new_path (cr);
  return h;
}

/* @text in a cell from (@x, @y), @w by @h, centred vertically. */
static void
draw_cell (cairo_t *cr, double x, double y, double w, double h, const char *text,
           double size_pt, guint flags)
{
  g_autoptr(PangoLayout) layout = NULL;
  double th;

  if (text == NULL || *text == '\0')
    return;
  layout = make_layout (cr, text, size_pt, flags, w - 2);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  layout_size (layout, NULL, &th);
  cairo_move_to (cr, x + 1, y + (h - th) / 2);
  pango_cairo_show_layout (cr, layout);
  cairo_new_path (cr);
}

static void
hline (cairo_t *cr, double x0, double x1, double y, double width)
{
  cairo_save (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, width);
  cairo_move_to (cr, x0, y);
  cairo_line_to (cr, x1, y);
  cairo_stroke (cr);
  cairo_restore (cr);
}

/* Whether the print font has the Vietnamese letters. */
static gboolean
check_font (cairo_t *cr, GError **error)
{
  g_autoptr(PangoLayout) layout = dothi_print_text_layout (cr, "Đ", 10, FALSE, 0);
  PangoContext *context = pango_layout_get_context (layout);
  const gunichar needed[] = { 0x0110, 0x0111, 0x1EA1, 0x1EAF, 0x1ED9, 0x1EEF, 0x01B0, 0x01A1 };
  g_autoptr(PangoFontDescription) desc = pango_font_description_from_string (DOTHI_PRINT_FONT " 10");
  g_autoptr(PangoFont) font = pango_context_load_font (context, desc);

  for (guint i = 0; font != NULL && i < G_N_ELEMENTS (needed); i++)
    if (!pango_font_has_char (font, needed[i]))
      g_clear_object (&font);
  if (font != NULL)
    return TRUE;
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: a font name */
               _("The font “%s” is missing or has no Vietnamese letters; install fonts-noto-core"),
               DOTHI_PRINT_FONT);
  return FALSE;
}

/* ---- the work order: content ---------------------------------------------- */

/* A valve row of the table. */
typedef struct {
  guint            number;   /* 0: not to close (already closed, seized) */
  guint            node;
  DothiNetworkNode n;
  char            *diameter; /* "150" or NULL */
} ValveRow;

typedef struct {
  DothiNetwork      *network;
  DothiTrace        *trace;
  guint              break_edge;
  const char        *work_order;
  DothiPrintContext *ctx;
  DothiPrintMap     *map;
  JsonObject        *map_item;
  Lines              lines;
  GArray            *valves;        /* ValveRow */
  GPtrArray         *lost_pieces;   /* GArray (Pt), every lost edge's */
  GPtrArray         *break_pieces;
  gboolean           has_break;
  Pt                 break_at;
  char              *break_pipe;    /* the id of the broken line */
  char              *break_layer;   /* its layer's title */
  double             lost_length;
  guint              page;
} Order;

static void
valve_row_clear (ValveRow *row)
{
  g_free (row->diameter);
}

static void
order_clear (Order *o)
{
  lines_clear (&o->lines);
  g_clear_pointer (&o->valves, g_array_unref);
  g_clear_pointer (&o->lost_pieces, g_ptr_array_unref);
  g_clear_pointer (&o->break_pieces, g_ptr_array_unref);
  g_clear_pointer (&o->map_item, json_object_unref);
  g_clear_pointer (&o->break_pipe, g_free);
  g_clear_pointer (&o->break_layer, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Order, order_clear)

/* The first of the usual diameter fields (mm) @info has, or NULL. */
static const char *
diameter_field (const DothiLayerInfo *info)
{
  static const char * const names[] = {
    "duong_kinh_mm", "duong_kinh", "duongkinh", "dk", "dn", "diameter_mm", "diameter", NULL,
  };

  if (info == NULL)
    return NULL;
  for (guint k = 0; names[k] != NULL; k++)
    for (guint i = 0; i < info->fields->len; i++)
      {
        DothiField *f = g_ptr_array_index (info->fields, i);

        if (g_ascii_strcasecmp (f->name, names[k]) == 0)
          return f->name;
      }
  return NULL;
}

/* A valve's diameter: its own layer's field, else that of a pipe it
 * sits on. */
static void
load_diameters (Order *o)
{
  g_autoptr(GHashTable) wanted = g_hash_table_new (NULL, NULL);
  guint n_edges = dothi_network_get_n_edges (o->network);

  for (guint i = 0; i < o->valves->len; i++)
    {
      ValveRow *row = &g_array_index (o->valves, ValveRow, i);
      const char *field;

      if (row->n.layer == NULL)
        continue;
      field = diameter_field (dothi_print_context_find_layer (o->ctx, row->n.layer));
      row->diameter = read_text (o->ctx->db, row->n.layer, field, row->n.fid);
      if (row->diameter == NULL)
        g_hash_table_insert (wanted, GUINT_TO_POINTER (row->node + 1), row);
    }
  for (guint e = 0; e < n_edges && g_hash_table_size (wanted) > 0; e++)
    {
      DothiNetworkEdge edge;
      guint ends[2];

      if (!dothi_network_get_edge (o->network, e, &edge))
        continue;
      ends[0] = edge.node_a;
      ends[1] = edge.node_b;
      for (guint k = 0; k < 2; k++)
        {
          ValveRow *row = g_hash_table_lookup (wanted, GUINT_TO_POINTER (ends[k] + 1));
          const char *field;

          if (row == NULL)
            continue;
          field = diameter_field (dothi_print_context_find_layer (o->ctx, edge.layer));
          row->diameter = read_text (o->ctx->db, edge.layer, field, edge.fid);
          if (row->diameter != NULL)
            g_hash_table_remove (wanted, GUINT_TO_POINTER (ends[k] + 1));
        }
    }
}

static void
add_valves (Order *o, GArray *nodes, gboolean numbered)
{
  for (guint i = 0; nodes != NULL && i < nodes->len; i++)
    {
      ValveRow row = { 0 };

      row.node = g_array_index (nodes, guint, i);
      if (!dothi_network_get_node (o->network, row.node, &row.n))
        continue;
      row.number = numbered ? i + 1 : 0;
      g_array_append_val (o->valves, row);
    }
}

static void
grow_box (double box[4], double x, double y)
{
  box[0] = MIN (box[0], x);
  box[1] = MIN (box[1], y);
  box[2] = MAX (box[2], x);
  box[3] = MAX (box[3], y);
}

/* 1:200, 500, 1 000, 2 000, 2 500, 5 000, 10 000 … : the first at least
 * @scale, as the print frames use. */
static double
standard_scale (double scale)
{
  static const double steps[] = { 1, 2, 2.5, 5 };
  double decade = pow (10, floor (log10 (MAX (scale, 1))));

  if (scale <= 200)
    return 200;
  for (int k = 0; k < 3; k++, decade *= 10)
    for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
      if (steps[i] * decade >= scale * (1 - 1e-9))
        return steps[i] * decade;
  return scale;
}

/* Reads what the page shows and sets up the map frame: the lost edges,
 * the break and the valves, framed with a margin at a standard scale. */
static gboolean
prepare_order (Order *o, GError **error)
{
  double box[4] = { G_MAXDOUBLE, G_MAXDOUBLE, -G_MAXDOUBLE, -G_MAXDOUBLE };
  DothiPrintContext *ctx = o->ctx;
  DothiPrintMap *map;
  DothiNetworkEdge be;
  double bw, bh, scale, cx, cy;

  o->valves = g_array_new (FALSE, TRUE, sizeof (ValveRow));
  g_array_set_clear_func (o->valves, (GDestroyNotify) valve_row_clear);
  add_valves (o, o->trace->valves_to_close, TRUE);
  add_valves (o, o->trace->valves_seized, FALSE);
  add_valves (o, o->trace->valves_closed, FALSE);
  load_diameters (o);

  o->lost_pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  for (guint i = 0; o->trace->lost_edges != NULL && i < o->trace->lost_edges->len; i++)
    {
      guint edge = g_array_index (o->trace->lost_edges, guint, i);
      g_autoptr(GPtrArray) pieces = edge_pieces (&o->lines, o->network, edge, error);
      DothiNetworkEdge e;

      if (pieces == NULL)
        return FALSE;
      if (dothi_network_get_edge (o->network, edge, &e))
        o->lost_length += e.length;
      for (guint k = 0; k < pieces->len; k++)
        {
          GArray *piece = g_array_ref (g_ptr_array_index (pieces, k));

          for (guint v = 0; v < piece->len; v++)
            grow_box (box, g_array_index (piece, Pt, v).x, g_array_index (piece, Pt, v).y);
          g_ptr_array_add (o->lost_pieces, piece);
        }
    }

  if (dothi_network_get_edge (o->network, o->break_edge, &be))
    {
      const DothiLayerInfo *info = dothi_print_context_find_layer (ctx, be.layer);

      o->break_pieces = edge_pieces (&o->lines, o->network, o->break_edge, error);
      if (o->break_pieces == NULL)
        return FALSE;
      o->has_break = pieces_midpoint (o->break_pieces, &o->break_at);
      if (o->has_break)
        grow_box (box, o->break_at.x, o->break_at.y);
      o->break_pipe = edge_line_id (ctx->db, ctx->layers, &be);
      o->break_layer = g_strdup (info != NULL && info->title != NULL ? info->title : be.layer);
    }
  for (guint i = 0; i < o->valves->len; i++)
    {
      ValveRow *row = &g_array_index (o->valves, ValveRow, i);
      grow_box (box, row->n.x, row->n.y);
    }

  /* The frame: the drawn layers in the project CRS. */
  map = g_new0 (DothiPrintMap, 1);
  g_ptr_array_add (ctx->maps, map);
  o->map = map;
  o->map_item = json_object_new ();
  json_object_set_string_member (o->map_item, "type", "map");
  json_object_set_string_member (o->map_item, "id", "map");
  json_object_set_string_member (o->map_item, "grid_style", "crosses");
  map->item = o->map_item;
  map->id = "map";
  map->x = LEFT;
  map->w = CONTENT_W;
  map->h = MAP_H;
  map->layers = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_render_layer_unref);
  for (guint i = 0; i < ctx->layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (ctx->layers, i);
      DothiStyle *style = g_hash_table_lookup (ctx->styles, info->name);

      if (style != NULL && info->visible && info->srid == ctx->srid)
        g_ptr_array_add (map->layers, dothi_render_layer_new (info, style));
    }

  if (box[0] > box[2])
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a work order number */
                   _("The isolation of work order “%s” has no pipe or valve with a position to map"),
                   o->work_order);
      return FALSE;
    }
  /* 15 % around the area, at least 20 m, then the next standard scale. */
  bw = MAX (box[2] - box[0], 20) * 1.3 + 40;
  bh = MAX (box[3] - box[1], 20) * 1.3 + 40;
  scale = standard_scale (MAX (bw / map->w, bh / map->h) * 1000);
  cx = (box[0] + box[2]) / 2;
  cy = (box[1] + box[3]) / 2;
  map->scale = scale;
  map->extent[0] = cx - map->w * scale / 1000 / 2;
  map->extent[2] = cx + map->w * scale / 1000 / 2;
  map->extent[1] = cy - map->h * scale / 1000 / 2;
  map->extent[3] = cy + map->h * scale / 1000 / 2;
  return TRUE;
}

/* Project coordinates to the page. */
static void
to_page (Order *o, double x, double y, double *px, double *py)
{
  DothiPrintMap *map = o->map;

  *px = map->x + (x - map->extent[0]) * 1000 / map->scale;
  *py = map->y + (map->extent[3] - y) * 1000 / map->scale;
}

static void
path_pieces (Order *o, cairo_t *cr, GPtrArray *pieces)
{
  for (guint k = 0; pieces != NULL && k < pieces->len; k++)
    {
      GArray *piece = g_ptr_array_index (pieces, k);

      for (guint v = 0; v < piece->len; v++)
        {
          double px, py;

          to_page (o, g_array_index (piece, Pt, v).x, g_array_index (piece, Pt, v).y, &px, &py);
          if (v == 0)
            cairo_move_to (cr, px, py);
          else
            cairo_line_to (cr, px, py);
        }
    }
}

static void
draw_centred (cairo_t *cr, double cx, double cy, const char *text, double size_pt, gboolean bold)
{
  g_autoptr(PangoLayout) layout = dothi_print_text_layout (cr, text, size_pt, bold, 0);
  double w, h;

  layout_size (layout, &w, &h);
  cairo_move_to (cr, cx - w / 2, cy - h / 2);
  pango_cairo_show_layout (cr, layout);
  cairo_new_path (cr);
}

/* Symbols, also drawn in the legend. */
static void
symbol_to_close (cairo_t *cr, double x, double y, guint number)
{
  char text[16];
  double r = number >= 100 ? 2.9 : 2.4;

  cairo_arc (cr, x, y, r, 0, 2 * G_PI);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_fill_preserve (cr);
  cairo_set_source_rgb (cr, 0.8, 0, 0);
  cairo_set_line_width (cr, 0.45);
  cairo_stroke (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  g_snprintf (text, sizeof text, "%u", number);
  draw_centred (cr, x, y, text, number >= 100 ? 6 : 7, TRUE);
}

static void
symbol_closed (cairo_t *cr, double x, double y)
{
  cairo_rectangle (cr, x - 1.3, y - 1.3, 2.6, 2.6);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_set_line_width (cr, 0.6);
  cairo_stroke_preserve (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_fill (cr);
}

/* A seized valve: an orange triangle with "!" (stuck open). */
static void
symbol_seized (cairo_t *cr, double x, double y)
{
  cairo_move_to (cr, x, y - 2.6);
  cairo_line_to (cr, x + 2.4, y + 1.6);
  cairo_line_to (cr, x - 2.4, y + 1.6);
  cairo_close_path (cr);
  cairo_set_source_rgb (cr, 1, 0.62, 0);
  cairo_fill_preserve (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, 0.3);
  cairo_stroke (cr);
  draw_centred (cr, x, y + 0.1, "!", 6, TRUE);
}

static void
symbol_break (cairo_t *cr, double x, double y)
{
  const double a = 2.4;

  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  for (int pass = 0; pass < 2; pass++)
    {
      cairo_move_to (cr, x - a, y - a);
      cairo_line_to (cr, x + a, y + a);
      cairo_move_to (cr, x + a, y - a);
      cairo_line_to (cr, x - a, y + a);
      if (pass == 0)
        {
          cairo_set_source_rgb (cr, 1, 1, 1);
          cairo_set_line_width (cr, 1.5);
        }
      else
        {
          cairo_set_source_rgb (cr, 0.9, 0, 0);
          cairo_set_line_width (cr, 0.8);
        }
      cairo_stroke (cr);
    }
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_BUTT);
}

static void
symbol_lost (cairo_t *cr, double x0, double y, double x1)
{
  cairo_move_to (cr, x0, y);
  cairo_line_to (cr, x1, y);
  cairo_set_source_rgb (cr, LOST_R, LOST_G, LOST_B);
  cairo_set_line_width (cr, 1.1);
  cairo_stroke (cr);
}

static gboolean
draw_map (Order *o, cairo_t *cr, GError **error)
{
  DothiPrintMap *map = o->map;
  g_autoptr(JsonObject) bar = json_object_new ();
  g_autoptr(JsonObject) arrow = json_object_new ();

  cairo_save (cr);
  cairo_rectangle (cr, map->x, map->y, map->w, map->h);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_fill (cr);
  cairo_restore (cr);
  if (map->layers->len > 0 && !dothi_print_draw_map_features (cr, o->ctx, map, error))
    return FALSE;
  /* The VN-2000 grid under the isolation's symbols. */
  if (!dothi_print_draw_map_grid (cr, o->ctx, map, error))
    return FALSE;

  cairo_save (cr);
  cairo_rectangle (cr, map->x, map->y, map->w, map->h);
  cairo_clip (cr);
  /* The lost pipes, on a white casing so they read over the base map. */
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  path_pieces (o, cr, o->lost_pieces);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_set_line_width (cr, 1.6);
  cairo_stroke_preserve (cr);
  cairo_set_source_rgb (cr, LOST_R, LOST_G, LOST_B);
  cairo_set_line_width (cr, 1.1);
  cairo_stroke (cr);

  /* Closed, then seized, then the numbered valves on top. */
  for (guint pass = 0; pass < 3; pass++)
    for (guint i = 0; i < o->valves->len; i++)
      {
        ValveRow *row = &g_array_index (o->valves, ValveRow, i);
        double px, py;

        to_page (o, row->n.x, row->n.y, &px, &py);
        if (pass == 0 && row->number == 0 && row->n.state == DOTHI_VALVE_CLOSED)
          symbol_closed (cr, px, py);
        else if (pass == 1 && row->number == 0 && row->n.state != DOTHI_VALVE_CLOSED)
          symbol_seized (cr, px, py);
        else if (pass == 2 && row->number > 0)
          symbol_to_close (cr, px, py, row->number);
      }
  if (o->has_break)
    {
      double px, py;

      to_page (o, o->break_at.x, o->break_at.y, &px, &py);
      symbol_break (cr, px, py);
    }
  cairo_restore (cr);

  /* The frame, the north arrow and the scale bar. */
  cairo_save (cr);
  cairo_rectangle (cr, map->x, map->y, map->w, map->h);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, 0.35);
  cairo_stroke (cr);
  cairo_rectangle (cr, RIGHT - 12, map->y + 2, 10, 14);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.85);
  cairo_fill (cr);
  cairo_restore (cr);
  json_object_set_string_member (arrow, "type", "north_arrow");
  json_object_set_double_member (arrow, "x", RIGHT - 11);
  json_object_set_double_member (arrow, "y", map->y + 3);
  json_object_set_double_member (arrow, "w", 8);
  json_object_set_double_member (arrow, "h", 12);
  if (!dothi_print_draw_north_arrow (cr, o->ctx, arrow, error))
    return FALSE;

  cairo_save (cr);
  cairo_rectangle (cr, map->x + 1.5, map->y + map->h - 13, 50, 12);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.85);
  cairo_fill (cr);
  cairo_restore (cr);
  json_object_set_string_member (bar, "type", "scale_bar");
  json_object_set_string_member (bar, "map", "map");
  json_object_set_double_member (bar, "x", map->x + 3);
  json_object_set_double_member (bar, "y", map->y + map->h - 11.5);
  json_object_set_double_member (bar, "w", 45);
  json_object_set_double_member (bar, "h", 9.5);
  return dothi_print_draw_scale_bar (cr, o->ctx, bar, error);
}

/* The legend under the map; returns its height. */
static double
draw_legend (Order *o, cairo_t *cr, double y)
{
  double x = LEFT;
  const double cy = y + 2.6;

  symbol_lost (cr, x, cy, x + 8);
  cairo_set_source_rgb (cr, 0, 0, 0);
  draw_text (cr, x + 10, y, 0, "Ống mất nước", 8, 0);
  x += 37;
  symbol_break (cr, x + 2.5, cy);
  cairo_set_source_rgb (cr, 0, 0, 0);
  draw_text (cr, x + 6.5, y, 0, "Điểm sự cố", 8, 0);
  x += 29;
  symbol_to_close (cr, x + 2.5, cy, 1);
  cairo_set_source_rgb (cr, 0, 0, 0);
  draw_text (cr, x + 6.5, y, 0, "Van cần đóng (số TT)", 8, 0);
  x += 41;
  symbol_closed (cr, x + 2, cy);
  cairo_set_source_rgb (cr, 0, 0, 0);
  draw_text (cr, x + 5.5, y, 0, "Van đã đóng sẵn", 8, 0);
  x += 33;
  symbol_seized (cr, x + 2.5, cy);
  cairo_set_source_rgb (cr, 0, 0, 0);
  draw_text (cr, x + 6.5, y, 0, "Van kẹt", 8, 0);
  return 6;
}

static const char *
valve_state_text (const ValveRow *row)
{
  if (row->number > 0)
    return "Đang mở → đóng";
  switch (row->n.state)
    {
    case DOTHI_VALVE_CLOSED:
      return "Đã đóng sẵn";
    case DOTHI_VALVE_SEIZED:
    case DOTHI_VALVE_OPEN:
    default:
      /* Passed by the isolation: stuck, as recorded or as the crew said. */
      return "Kẹt, không đóng được";
    }
}

typedef struct {
  const char *title;
  double      width;
  guint       flags;
} Column;

static const Column valve_columns[] = {
  { "Số TT", 12, TEXT_CENTER },
  { "Mã van", 32, 0 },
  { "X (m)", 30, TEXT_RIGHT },
  { "Y (m)", 28, TEXT_RIGHT },
  { "DN (mm)", 16, TEXT_RIGHT },
  { "Trạng thái", 35, 0 },
  { "Giờ thao tác", 22, 0 },
};

static const Column customer_columns[] = {
  { "Số TT", 12, TEXT_CENTER },
  { "Mã khách hàng", 38, 0 },
  { "Loại", 45, 0 },
  { "X (m)", 30, TEXT_RIGHT },
  { "Y (m)", 28, TEXT_RIGHT },
  { "Đã báo", 22, 0 },
};

static void
draw_row (cairo_t *cr, double y, double h, const Column *cols, guint n, const char * const *cells,
          gboolean header, gboolean bold)
{
  double x = LEFT;

  cairo_save (cr);
  if (header)
    {
      cairo_rectangle (cr, LEFT, y, CONTENT_W, h);
      cairo_set_source_rgb (cr, 0.9, 0.9, 0.9);
      cairo_fill (cr);
    }
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, 0.25);
  cairo_rectangle (cr, LEFT, y, CONTENT_W, h);
  cairo_stroke (cr);
  for (guint c = 0; c < n; c++)
    {
      if (c > 0)
        {
          cairo_move_to (cr, x, y);
          cairo_line_to (cr, x, y + h);
          cairo_stroke (cr);
        }
      cairo_set_source_rgb (cr, 0, 0, 0);
      draw_cell (cr, x, y, cols[c].width, h, cells[c], header ? 8.5 : 8.5,
                 header ? (TEXT_BOLD | TEXT_CENTER) : (cols[c].flags | (bold ? TEXT_BOLD : 0)));
      x += cols[c].width;
    }
  cairo_restore (cr);
}

static void
draw_footer (Order *o, cairo_t *cr)
{
  g_autofree char *text = g_strdup_printf ("Phiếu số %s — trang %u", o->work_order, o->page);

  cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
  draw_text (cr, LEFT, BOTTOM + 4, CONTENT_W, text, 7.5, TEXT_RIGHT | TEXT_ITALIC);
  cairo_set_source_rgb (cr, 0, 0, 0);
}

/* Starts a new page when @need mm do not fit below @y. */
static double
ensure_room (Order *o, cairo_t *cr, double y, double need)
{
  if (y + need <= BOTTOM)
    return y;
  draw_footer (o, cr);
  cairo_show_page (cr);
  o->page++;
  return TOP;
}

static char *
coord_text (double value)
{
  return dothi_print_format_number (value, 2);
}

/* Hospitals, schools, clinics and kindergartens: served first. */
static gboolean
is_critical (const char *kind)
{
  static const char * const words[] = {
    "bệnh viện", "trường", "y tế", "phòng khám", "mầm non", "nhà trẻ", "hospital",
    "school", "clinic", "critical", NULL,
  };
  g_autofree char *nfc = NULL;
  g_autofree char *lower = NULL;

  if (kind == NULL)
    return FALSE;
  nfc = g_utf8_normalize (kind, -1, G_NORMALIZE_NFC);
  lower = g_utf8_strdown (nfc, -1);
  for (guint i = 0; words[i] != NULL; i++)
    if (strstr (lower, words[i]) != NULL)
      return TRUE;
  return FALSE;
}

static double
draw_heading (cairo_t *cr, double y, const char *text)
{
  cairo_set_source_rgb (cr, 0, 0, 0);
  return draw_text (cr, LEFT, y, CONTENT_W, text, 10.5, TEXT_BOLD) + 1.5;
}

static double
draw_valve_table (Order *o, cairo_t *cr, double y)
{
  const guint n = G_N_ELEMENTS (valve_columns);
  const char *titles[G_N_ELEMENTS (valve_columns)];
  g_autofree char *heading = g_strdup_printf ("II. VAN CẦN ĐÓNG (%u van)",
                                              o->trace->valves_to_close != NULL
                                              ? o->trace->valves_to_close->len : 0);

  for (guint c = 0; c < n; c++)
    titles[c] = valve_columns[c].title;
  y = ensure_room (o, cr, y, 8 + HEAD_H + ROW_H);
  y += draw_heading (cr, y, heading);
  draw_row (cr, y, HEAD_H, valve_columns, n, titles, TRUE, FALSE);
  y += HEAD_H;
  if (o->valves->len == 0)
    {
      const char *cells[G_N_ELEMENTS (valve_columns)] = { "", "Không có van nào cần đóng" };

      draw_row (cr, y, ROW_H, valve_columns, n, cells, FALSE, FALSE);
      return y + ROW_H;
    }
  for (guint i = 0; i < o->valves->len; i++)
    {
      ValveRow *row = &g_array_index (o->valves, ValveRow, i);
      g_autofree char *number = row->number > 0 ? g_strdup_printf ("%u", row->number) : g_strdup ("–");
      g_autofree char *x = coord_text (row->n.y);  /* X: northing */
      g_autofree char *yy = coord_text (row->n.x); /* Y: easting */
      const char *cells[G_N_ELEMENTS (valve_columns)] = {
        number, row->n.id ? row->n.id : "", x, yy, row->diameter ? row->diameter : "",
        valve_state_text (row), "",
      };

      if (y + ROW_H > BOTTOM)
        {
          y = ensure_room (o, cr, y, ROW_H);
          draw_row (cr, y, HEAD_H, valve_columns, n, titles, TRUE, FALSE);
          y += HEAD_H;
        }
      draw_row (cr, y, ROW_H, valve_columns, n, cells, FALSE, row->number > 0);
      y += ROW_H;
    }
  return y;
}

static double
draw_customers (Order *o, cairo_t *cr, double y)
{
  const guint n = G_N_ELEMENTS (customer_columns);
  const char *titles[G_N_ELEMENTS (customer_columns)];
  GArray *customers = o->trace->customers;
  guint n_customers = customers != NULL ? customers->len : 0;
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) kinds = g_ptr_array_new ();
  g_autoptr(GString) summary = g_string_new (NULL);
  g_autofree char *heading = g_strdup_printf ("III. KHÁCH HÀNG CẦN THÔNG BÁO (%u khách hàng)",
                                              n_customers);
  guint n_critical = 0;

  for (guint c = 0; c < n; c++)
    titles[c] = customer_columns[c].title;

  /* Counts by kind, in the order the kinds first appear (critical first). */
  for (guint i = 0; i < n_customers; i++)
    {
      DothiNetworkNode node;
      g_autofree char *kind = NULL;
      gpointer count;

      if (!dothi_network_get_node (o->network, g_array_index (customers, guint, i), &node))
        continue;
      kind = node.kind != NULL && *node.kind != '\0'
             ? g_utf8_normalize (node.kind, -1, G_NORMALIZE_NFC) : g_strdup ("không rõ loại");
      if (is_critical (node.kind))
        n_critical++;
      if (!g_hash_table_lookup_extended (counts, kind, NULL, &count))
        {
          g_ptr_array_add (kinds, g_strdup (kind));
          count = GUINT_TO_POINTER (0);
        }
      g_hash_table_insert (counts, g_strdup (kind), GUINT_TO_POINTER (GPOINTER_TO_UINT (count) + 1));
    }
  g_ptr_array_set_free_func (kinds, g_free);
  for (guint k = 0; k < kinds->len; k++)
    {
      const char *kind = g_ptr_array_index (kinds, k);

      g_string_append_printf (summary, "%s%s: %u", k > 0 ? "; " : "", kind,
                              GPOINTER_TO_UINT (g_hash_table_lookup (counts, kind)));
    }

  y = ensure_room (o, cr, y, 20 + HEAD_H + ROW_H);
  y += draw_heading (cr, y, heading);
  if (n_customers > 0)
    {
      g_autofree char *line = g_strdup_printf ("Theo loại: %s.", summary->str);

      y += draw_text (cr, LEFT, y, CONTENT_W, line, 9, 0) + 0.5;
    }
  if (n_critical > 0)
    {
      g_autofree char *line = g_strdup_printf ("Ưu tiên báo trước và cấp nước bằng xe bồn cho %u khách hàng đặc biệt (in đậm).",
                                               n_critical);

      y += draw_text (cr, LEFT, y, CONTENT_W, line, 9, TEXT_ITALIC) + 0.5;
    }
  if (o->trace->parcels != NULL && o->trace->parcels->len > 0)
    {
      g_autofree char *line = g_strdup_printf ("Số thửa đất bị mất nước: %u.", o->trace->parcels->len);

      y += draw_text (cr, LEFT, y, CONTENT_W, line, 9, 0) + 0.5;
    }
  y += 1;
  draw_row (cr, y, HEAD_H, customer_columns, n, titles, TRUE, FALSE);
  y += HEAD_H;
  if (n_customers == 0)
    {
      const char *cells[G_N_ELEMENTS (customer_columns)] = { "", "Không có khách hàng bị ảnh hưởng" };

      draw_row (cr, y, ROW_H, customer_columns, n, cells, FALSE, FALSE);
      return y + ROW_H;
    }
  for (guint i = 0; i < n_customers; i++)
    {
      DothiNetworkNode node;
      g_autofree char *number = g_strdup_printf ("%u", i + 1);
      g_autofree char *x = NULL;
      g_autofree char *yy = NULL;

      if (!dothi_network_get_node (o->network, g_array_index (customers, guint, i), &node))
        continue;
      x = coord_text (node.y);
      yy = coord_text (node.x);
      {
        const char *cells[G_N_ELEMENTS (customer_columns)] = {
          number, node.id ? node.id : "", node.kind ? node.kind : "", x, yy, "",
        };

        if (y + ROW_H > BOTTOM)
          {
            y = ensure_room (o, cr, y, ROW_H);
            draw_row (cr, y, HEAD_H, customer_columns, n, titles, TRUE, FALSE);
            y += HEAD_H;
          }
        draw_row (cr, y, ROW_H, customer_columns, n, cells, FALSE, is_critical (node.kind));
        y += ROW_H;
      }
    }
  return y;
}

static void
draw_signatures (Order *o, cairo_t *cr, double y)
{
  g_autoptr(GTimeZone) ict = g_time_zone_new_offset (7 * 3600);
  g_autoptr(GDateTime) now = g_date_time_new_now (ict);
  g_autofree char *date = NULL;
  const double mid = LEFT + CONTENT_W / 2;

  y = ensure_room (o, cr, y + 4, SIGN_H);
  /* Days under 10 and months 1 and 2 take a leading zero (Nghị định
   * 30/2020/NĐ-CP). */
  date = g_strdup_printf ("Ngày %02d tháng %s%d năm %d", g_date_time_get_day_of_month (now),
                          g_date_time_get_month (now) <= 2 ? "0" : "",
                          g_date_time_get_month (now), g_date_time_get_year (now));
  cairo_set_source_rgb (cr, 0, 0, 0);
  draw_text (cr, mid, y, CONTENT_W / 2, date, 10, TEXT_ITALIC | TEXT_CENTER);
  y += 5.5;
  draw_text (cr, LEFT, y, CONTENT_W / 2, "NGƯỜI LẬP PHIẾU", 10, TEXT_BOLD | TEXT_CENTER);
  draw_text (cr, mid, y, CONTENT_W / 2, "TRƯỞNG CA / KỸ THUẬT", 10, TEXT_BOLD | TEXT_CENTER);
  y += 4.8;
  draw_text (cr, LEFT, y, CONTENT_W / 2, "(Ký, ghi rõ họ tên)", 9, TEXT_ITALIC | TEXT_CENTER);
  draw_text (cr, mid, y, CONTENT_W / 2, "(Ký, ghi rõ họ tên)", 9, TEXT_ITALIC | TEXT_CENTER);
}

static gboolean
draw_order (Order *o, cairo_t *cr, GError **error)
{
  g_autoptr(GTimeZone) ict = g_time_zone_new_offset (7 * 3600);
  g_autoptr(GDateTime) now = g_date_time_new_now (ict);
  g_autofree char *made = g_strdup_printf ("Lập lúc %02d:%02d ngày %02d/%02d/%d",
                                           g_date_time_get_hour (now),
                                           g_date_time_get_minute (now),
                                           g_date_time_get_day_of_month (now),
                                           g_date_time_get_month (now),
                                           g_date_time_get_year (now));
  g_autofree char *number = g_strdup_printf ("Số phiếu: %s", o->work_order);
  double y = TOP, h, lw;

  o->page = 1;
  cairo_set_source_rgb (cr, 0, 0, 0);
  draw_text (cr, LEFT - 5, y, 80, "ĐƠN VỊ QUẢN LÝ MẠNG LƯỚI", 10, TEXT_BOLD | TEXT_CENTER);
  draw_text (cr, 88, y, RIGHT - 88 + 3, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 10,
             TEXT_BOLD | TEXT_CENTER);
  h = draw_text (cr, 88, y + 5, RIGHT - 88 + 3, "Độc lập - Tự do - Hạnh phúc", 11,
                 TEXT_BOLD | TEXT_CENTER);
  {
    g_autoptr(PangoLayout) l = make_layout (cr, "Độc lập - Tự do - Hạnh phúc", 11, TEXT_BOLD, 0);

    layout_size (l, &lw, NULL);
  }
  hline (cr, 88 + (RIGHT - 88 + 3 - lw) / 2, 88 + (RIGHT - 88 + 3 + lw) / 2, y + 5 + h + 0.3, 0.3);
  hline (cr, LEFT + 35 - 12, LEFT + 35 + 12, y + 5.6, 0.3);
  draw_text (cr, LEFT - 5, y + 7, 80, number, 10, TEXT_CENTER);

  y = TOP + 20;
  y += draw_text (cr, LEFT, y, CONTENT_W, "PHIẾU CÔNG TÁC CÔ LẬP SỰ CỐ", 15,
                  TEXT_BOLD | TEXT_CENTER) + 1;
  y += draw_text (cr, LEFT, y, CONTENT_W, made, 9.5, TEXT_ITALIC | TEXT_CENTER) + 3;

  /* I. The break and what it cuts off. */
  y += draw_heading (cr, y, "I. VỊ TRÍ SỰ CỐ VÀ PHẠM VI MẤT NƯỚC");
  {
    g_autoptr(GString) m = g_string_new (NULL);
    g_autofree char *length = dothi_print_format_number (round (o->lost_length), 0);
    guint n_close = o->trace->valves_to_close ? o->trace->valves_to_close->len : 0;
    guint n_cust = o->trace->customers ? o->trace->customers->len : 0;

    if (o->break_pipe != NULL)
      {
        g_autofree char *x = coord_text (o->break_at.y);
        g_autofree char *yy = coord_text (o->break_at.x);

        if (o->has_break)
          g_string_append_printf (m, "Ống bị sự cố: %s (lớp “%s”), tại X = %s m, Y = %s m (%s).",
                                  o->break_pipe, o->break_layer, x, yy, o->ctx->crs_name);
        else
          g_string_append_printf (m, "Ống bị sự cố: %s (lớp “%s”).", o->break_pipe, o->break_layer);
      }
    y += draw_text (cr, LEFT, y, CONTENT_W, m->str, 9.5, 0) + 0.5;
    g_string_printf (m, "Chiều dài ống mất nước: %s m; số van cần đóng: %u; số khách hàng mất nước: %u.",
                     length, n_close, n_cust);
    if (o->trace->valves_seized != NULL && o->trace->valves_seized->len > 0)
      g_string_append_printf (m, " Van kẹt đã bỏ qua: %u.", o->trace->valves_seized->len);
    y += draw_text (cr, LEFT, y, CONTENT_W, m->str, 9.5, 0) + 2;
  }

  o->map->y = y + GRID_LABEL_H;
  if (!draw_map (o, cr, error))
    return FALSE;
  y = o->map->y + o->map->h + GRID_LABEL_H;
  y += draw_legend (o, cr, y) + 3;

  y = draw_valve_table (o, cr, y) + 5;
  if (g_cancellable_set_error_if_cancelled (o->ctx->cancellable, error))
    return FALSE;
  y = draw_customers (o, cr, y) + 2;
  draw_signatures (o, cr, y);
  draw_footer (o, cr);
  return TRUE;
}

/* ---- output ---------------------------------------------------------------- */

typedef struct {
  int fd;
  int error;   /* errno of the first failed write, or 0 */
} Sink;

static cairo_status_t
write_cb (void *closure, const unsigned char *data, unsigned int length)
{
  Sink *sink = closure;

  while (length > 0 && sink->error == 0)
    {
      ssize_t n = write (sink->fd, data, length);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          sink->error = errno;
          break;
        }
      data += n;
      length -= (unsigned int) n;
    }
  return sink->error == 0 ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static gboolean
set_write_error (const char *path, int code, const char *detail, GError **error)
{
  g_set_error (error, DOTHI_ERROR, code == ENOENT ? DOTHI_ERROR_NOT_FOUND : DOTHI_ERROR_FAILED,
               /* Translators: file name, then the reason */
               _("Cannot write “%s”: %s"), path, detail);
  return FALSE;
}

static gboolean
render (Order *o, Sink *sink, const char *out_path, GError **error)
{
  const double pt_w = PAGE_W * DOTHI_PT_PER_MM, pt_h = PAGE_H * DOTHI_PT_PER_MM;
  g_autofree char *title = g_strdup_printf ("Phiếu công tác cô lập sự cố %s", o->work_order);
  cairo_surface_t *surface = cairo_pdf_surface_create_for_stream (write_cb, sink, pt_w, pt_h);
  cairo_t *cr;
  cairo_status_t status;
  gboolean ok;

  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, title);
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "Dothi");
  cr = cairo_create (surface);
  cairo_scale (cr, DOTHI_PT_PER_MM, DOTHI_PT_PER_MM);
  ok = check_font (cr, error) && draw_order (o, cr, error);
  if (ok)
    cairo_show_page (cr);
  status = cairo_status (cr);
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (!ok)
    return FALSE;
  if (sink->error != 0)
    return set_write_error (out_path, sink->error, g_strerror (sink->error), error);
  if (status != CAIRO_STATUS_SUCCESS)
    return set_write_error (out_path, 0, cairo_status_to_string (status), error);
  return TRUE;
}

gboolean
dothi_network_print_work_order (const char    *project_path,
                                DothiNetwork  *network,
                                DothiTrace    *trace,
                                guint          break_edge,
                                const char    *work_order,
                                const char    *out_path,
                                GCancellable  *cancellable,
                                GError       **error)
{
  g_autoptr(DothiPrinter) printer = NULL;
  g_auto(Order) o = { 0 };
  g_autofree char *order_nfc = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *tmp = NULL;
  Sink sink = { -1, 0 };
  gboolean ok;

  g_return_val_if_fail (project_path != NULL, FALSE);
  g_return_val_if_fail (network != NULL, FALSE);
  g_return_val_if_fail (trace != NULL, FALSE);
  g_return_val_if_fail (out_path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (work_order != NULL && g_utf8_validate (work_order, -1, NULL))
    order_nfc = g_strstrip (g_utf8_normalize (work_order, -1, G_NORMALIZE_NFC));
  if (order_nfc == NULL || *order_nfc == '\0')
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: file name */
                   _("The work order printed to “%s” needs a number"), out_path);
      return FALSE;
    }

  printer = dothi_printer_new (project_path, error);
  if (printer == NULL)
    return FALSE;
  o.ctx = dothi_printer_get_context (printer);
  o.ctx->cancellable = cancellable;
  /* Features too small to show at the map's scale as a 150 dpi raster,
   * as the print frames do for PDF. */
  o.ctx->dpi = 150;
  o.ctx->page_w = PAGE_W;
  o.ctx->page_h = PAGE_H;
  o.network = network;
  o.trace = trace;
  o.break_edge = break_edge;
  o.work_order = order_nfc;
  lines_init (&o.lines, o.ctx->db);
  if (!prepare_order (&o, error))
    return FALSE;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  /* A temporary file beside the output, renamed over it at the end. */
  dir = g_path_get_dirname (out_path);
  base = g_path_get_basename (out_path);
  tmp = g_strdup_printf ("%s%c.%s.XXXXXX", dir, G_DIR_SEPARATOR, base);
  sink.fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (sink.fd < 0)
    {
      int saved = errno;

      return set_write_error (out_path, saved, g_strerror (saved), error);
    }
  ok = render (&o, &sink, out_path, error);
  if (ok && fsync (sink.fd) != 0)
    {
      int saved = errno;

      ok = set_write_error (out_path, saved, g_strerror (saved), error);
    }
  if (close (sink.fd) != 0 && ok)
    {
      int saved = errno;

      ok = set_write_error (out_path, saved, g_strerror (saved), error);
    }
  if (ok && g_cancellable_set_error_if_cancelled (cancellable, error))
    ok = FALSE;
  if (ok && g_rename (tmp, out_path) != 0)
    {
      int saved = errno;

      ok = set_write_error (out_path, saved, g_strerror (saved), error);
    }
  if (!ok)
    g_unlink (tmp);
  /* The printer frees its frames; the context keeps no pointer to ours
   * beyond that. */
  o.ctx->cancellable = NULL;
  return ok;
}
