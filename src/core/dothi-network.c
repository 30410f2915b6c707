/* dothi-network.c: network definitions stored in the project, the topology
 * built from their layers into CSR arrays, its quality check, the traces
 * (connected, flow, shortest path, isolation) and valve operations. */
#define G_LOG_DOMAIN "dothi-network"

#include "config.h"
#include "dothi-network.h"
#include "dothi-autocleanups.h"
#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-search.h"
#include "dothi-spatialite-blob.h"
#include "dothi-spatialite-store.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NO_NODE G_MAXUINT
#define MAX_TOLERANCE 100.0
/* Dangling ends this many tolerances from another line are near misses. */
#define NEAR_MISS_FACTOR 5.0

/* ---- the definition ------------------------------------------------------ */

typedef struct {
  char *layer;
  char *id_field;
  char *length_field;
} EdgeDef;

typedef struct {
  char          *layer;
  DothiNodeRole  role;
  char          *id_field;
  char          *status_field;
  char          *kind_field;
  GPtrArray     *values[3];   /* char*, as written, per DothiValveState */
  GPtrArray     *folded[3];   /* the same, folded */
} NodeDef;

typedef struct {
  char      *name;
  double     tolerance;
  GPtrArray *edges;           /* EdgeDef* */
  GPtrArray *nodes;           /* NodeDef* */
  char      *parcel_layer;
  double     service_distance;
  char      *json;            /* as stored */
} Definition;

static const char * const role_names[] = {
  "junction", "valve", "hydrant", "source", "customer", "switch",
};

static const char * const state_names[] = { "open", "closed", "seized" };

static const char * const default_values[3][3] = {
  { "mở", "open", NULL },
  { "đóng", "closed", NULL },
  { "kẹt", "seized", NULL },
};

/* Folded kinds of customer that lose water first in the list. */
static const char * const critical_kinds[] = {
  "benh vien", "hospital", "truong hoc", "school", "tram y te", "phong kham",
  "clinic", "mam non", "nha tre", "kindergarten",
};

static void
edge_def_free (EdgeDef *def)
{
  g_free (def->layer);
  g_free (def->id_field);
  g_free (def->length_field);
  g_free (def);
}

static void
node_def_free (NodeDef *def)
{
  g_free (def->layer);
  g_free (def->id_field);
  g_free (def->status_field);
  g_free (def->kind_field);
  for (guint i = 0; i < 3; i++)
    {
      g_clear_pointer (&def->values[i], g_ptr_array_unref);
      g_clear_pointer (&def->folded[i], g_ptr_array_unref);
    }
  g_free (def);
}

static void
definition_free (Definition *def)
{
  if (def == NULL)
    return;
  g_free (def->name);
  g_clear_pointer (&def->edges, g_ptr_array_unref);
  g_clear_pointer (&def->nodes, g_ptr_array_unref);
  g_free (def->parcel_layer);
  g_free (def->json);
  g_free (def);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Definition, definition_free)

static gboolean
is_valve_role (DothiNodeRole role)
{
  return role == DOTHI_NODE_VALVE || role == DOTHI_NODE_SWITCH;
}

static gboolean
invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_set_error_literal (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       g_strdup_vprintf (format, args));
  va_end (args);
  return FALSE;
}

/* An optional text member: TRUE with NULL when absent or null. */
static gboolean
get_text (JsonObject *object, const char *member, const char *network, char **out,
          GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: network name, then a setting such as “id_field” */
                   _("Network “%s”: “%s” must be a text"), network, member);
      return FALSE;
    }
  *out = g_utf8_normalize (json_node_get_string (node), -1, G_NORMALIZE_NFC);
  if (*out != NULL && (*out)[0] == '\0')
    g_clear_pointer (out, g_free);
  return TRUE;
}

/* An optional number member; TRUE with @fallback when absent. */
static gboolean
get_number (JsonObject *object, const char *member, double fallback, double *out)
{
  JsonNode *node = json_object_get_member (object, member);
  GType type;

  *out = fallback;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  if (type != G_TYPE_DOUBLE && type != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_double (node);
  return isfinite (*out);
}

static gboolean
parse_values (JsonObject *object, NodeDef *def, const char *network, GError **error)
{
  for (guint s = 0; s < 3; s++)
    {
      JsonNode *node = json_object_get_member (object, state_names[s]);

      def->values[s] = g_ptr_array_new_with_free_func (g_free);
      def->folded[s] = g_ptr_array_new_with_free_func (g_free);
      if (node == NULL || JSON_NODE_HOLDS_NULL (node))
        {
          for (guint i = 0; default_values[s][i] != NULL; i++)
            g_ptr_array_add (def->values[s], g_strdup (default_values[s][i]));
        }
      else if (JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);

          for (guint i = 0; i < json_array_get_length (array); i++)
            {
              JsonNode *item = json_array_get_element (array, i);

              if (!JSON_NODE_HOLDS_VALUE (item)
                  || json_node_get_value_type (item) != G_TYPE_STRING)
                return invalid (error,
                                /* Translators: network name, then “open”, “closed” or “seized” */
                                _("Network “%s”: “%s” must be a list of texts"),
                                network, state_names[s]);
              g_ptr_array_add (def->values[s],
                               g_utf8_normalize (json_node_get_string (item), -1, G_NORMALIZE_NFC));
            }
        }
      else
        return invalid (error, _("Network “%s”: “%s” must be a list of texts"),
                        network, state_names[s]);
      for (guint i = 0; i < def->values[s]->len; i++)
        g_ptr_array_add (def->folded[s], dothi_text_fold (g_ptr_array_index (def->values[s], i)));
    }
  return TRUE;
}

/* Parses and checks what needs no project: names, roles, numbers. */
static Definition *
parse_definition (const char *json, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  g_autoptr(Definition) def = g_new0 (Definition, 1);
  g_autoptr(JsonGenerator) generator = NULL;
  g_autofree char *name = NULL;
  JsonObject *root;
  JsonNode *node;
  gboolean has_source = FALSE;
  const char *n;

  if (!json_parser_load_from_data (parser, json, -1, &local_error))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: the JSON parser's message */
                   _("The network definition is not valid JSON: %s"), local_error->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      invalid (error, _("The network definition must be a JSON object"));
      return NULL;
    }
  root = json_node_get_object (json_parser_get_root (parser));

  if (!get_text (root, "name", "?", &name, error))
    return NULL;
  if (name != NULL)
    def->name = g_strdup (g_strstrip (name));
  if (def->name == NULL || def->name[0] == '\0')
    {
      invalid (error, _("The network definition needs a “name”"));
      return NULL;
    }
  n = def->name;
  json_object_set_string_member (root, "name", n);

  if (!get_number (root, "tolerance", 0.5, &def->tolerance))
    {
      invalid (error,
               /* Translators: network name */
               _("Network “%s”: the snap tolerance “tolerance” must be a number of metres"), n);
      return NULL;
    }
  if (def->tolerance <= 0 || def->tolerance > MAX_TOLERANCE)
    {
      invalid (error,
               /* Translators: network name, the tolerance given, the largest allowed */
               _("Network “%s”: the snap tolerance “tolerance” of %g m must be more than 0 and at most %g m"),
               n, def->tolerance, MAX_TOLERANCE);
      return NULL;
    }

  def->edges = g_ptr_array_new_with_free_func ((GDestroyNotify) edge_def_free);
  node = json_object_get_member (root, "edges");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) && !JSON_NODE_HOLDS_ARRAY (node))
    {
      invalid (error, _("Network “%s”: “edges” must be a list of layers"), n);
      return NULL;
    }
  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *item = json_array_get_element (array, i);
          EdgeDef *edge = g_new0 (EdgeDef, 1);

          g_ptr_array_add (def->edges, edge);
          if (!JSON_NODE_HOLDS_OBJECT (item))
            {
              invalid (error, _("Network “%s”: “edges” must be a list of layers"), n);
              return NULL;
            }
          if (!get_text (json_node_get_object (item), "layer", n, &edge->layer, error)
              || !get_text (json_node_get_object (item), "id_field", n, &edge->id_field, error)
              || !get_text (json_node_get_object (item), "length_field", n, &edge->length_field, error))
            return NULL;
          if (edge->layer == NULL)
            {
              invalid (error,
                       /* Translators: network name, then “edges” or “nodes” */
                       _("Network “%s”: an entry of “%s” names no “layer”"), n, "edges");
              return NULL;
            }
        }
    }
  if (def->edges->len == 0)
    {
      invalid (error, _("Network “%s” has no edge layer: list the line layers in “edges”"), n);
      return NULL;
    }

  def->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) node_def_free);
  node = json_object_get_member (root, "nodes");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) && !JSON_NODE_HOLDS_ARRAY (node))
    {
      invalid (error, _("Network “%s”: “nodes” must be a list of layers"), n);
      return NULL;
    }
  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *item = json_array_get_element (array, i);
          NodeDef *nd = g_new0 (NodeDef, 1);
          g_autofree char *role = NULL;
          JsonObject *object;
          guint r;

          g_ptr_array_add (def->nodes, nd);
          if (!JSON_NODE_HOLDS_OBJECT (item))
            {
              invalid (error, _("Network “%s”: “nodes” must be a list of layers"), n);
              return NULL;
            }
          object = json_node_get_object (item);
          if (!get_text (object, "layer", n, &nd->layer, error)
              || !get_text (object, "role", n, &role, error)
              || !get_text (object, "id_field", n, &nd->id_field, error)
              || !get_text (object, "status_field", n, &nd->status_field, error)
              || !get_text (object, "kind_field", n, &nd->kind_field, error))
            return NULL;
          if (nd->layer == NULL)
            {
              invalid (error, _("Network “%s”: an entry of “%s” names no “layer”"), n, "nodes");
              return NULL;
            }
          if (role == NULL)
            {
              invalid (error,
                       /* Translators: network name, layer name */
                       _("Network “%s”: node layer “%s” needs a “role” (valve, hydrant, source, customer, switch or junction)"),
                       n, nd->layer);
              return NULL;
            }
          for (r = 0; r < G_N_ELEMENTS (role_names); r++)
            if (g_ascii_strcasecmp (role, role_names[r]) == 0)
              break;
          if (r == G_N_ELEMENTS (role_names))
            {
              invalid (error,
                       /* Translators: network name, layer name, the role given */
                       _("Network “%s”: node layer “%s” has an unknown role “%s” (valve, hydrant, source, customer, switch or junction)"),
                       n, nd->layer, role);
              return NULL;
            }
          nd->role = r;
          has_source |= nd->role == DOTHI_NODE_SOURCE;
          if (!parse_values (object, nd, n, error))
            return NULL;
        }
    }
  if (!has_source)
    {
      invalid (error,
               /* Translators: network name */
               _("Network “%s” has no source: give a node layer with the role “source” (reservoir, tank, substation)"),
               n);
      return NULL;
    }

  node = json_object_get_member (root, "parcels");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);

      if (!get_text (object, "layer", n, &def->parcel_layer, error))
        return NULL;
      if (def->parcel_layer == NULL)
        {
          invalid (error, _("Network “%s”: an entry of “%s” names no “layer”"), n, "parcels");
          return NULL;
        }
      if (!get_number (object, "service_distance", 0, &def->service_distance)
          || def->service_distance < 0 || def->service_distance > 10000)
        {
          invalid (error,
                   /* Translators: network name */
                   _("Network “%s”: the parcels' “service_distance” must be a number of metres from 0 to 10000"),
                   n);
          return NULL;
        }
    }
  else if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      invalid (error, _("Network “%s”: “parcels” must be an object with a “layer”"), n);
      return NULL;
    }

  generator = json_generator_new ();
  json_generator_set_root (generator, json_parser_get_root (parser));
  def->json = json_generator_to_data (generator, NULL);
  return g_steal_pointer (&def);
}

static gboolean
check_field (const char *network, DothiLayerInfo *info, const char *field, const char *setting,
             GError **error)
{
  if (field == NULL || dothi_layer_info_find_field (info, field) >= 0)
    return TRUE;
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
               /* Translators: network name, layer name, field name, the setting such as “id_field” */
               _("Network “%s”: layer “%s” has no field “%s” (setting “%s”)"),
               network, info->name, field, setting);
  return FALSE;
}

static DothiLayerInfo *
check_layer (DothiProject *project, const char *network, const char *layer,
             DothiGeometryKind kind, GError **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(GError) local_error = NULL;

  info = dothi_project_get_layer (project, layer, &local_error);
  if (info == NULL)
    {
      if (g_error_matches (local_error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND))
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                     /* Translators: network name, layer name */
                     _("Network “%s”: there is no layer “%s” in the project"), network, layer);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (info->kind != kind)
    {
      const char *what = dothi_geometry_kind_to_label (info->kind);

      switch (kind)
        {
        case DOTHI_GEOMETRY_KIND_MULTILINESTRING:
          invalid (error,
                   /* Translators: network name, layer name, what it has (“points”) */
                   _("Network “%s”: edge layer “%s” has %s, not lines"), network, layer, what);
          break;
        case DOTHI_GEOMETRY_KIND_MULTIPOINT:
          invalid (error,
                   /* Translators: network name, layer name, what it has (“lines”) */
                   _("Network “%s”: node layer “%s” has %s, not points"), network, layer, what);
          break;
        default:
          invalid (error,
                   /* Translators: network name, layer name, what it has (“lines”) */
                   _("Network “%s”: parcel layer “%s” has %s, not polygons"), network, layer, what);
          break;
        }
      return NULL;
    }
  if (info->srid != dothi_project_get_srid (project))
    {
      invalid (error,
               /* Translators: network name, layer name, its EPSG code, the project's */
               _("Network “%s”: layer “%s” is in EPSG:%d, not in the project's EPSG:%d"),
               network, layer, info->srid, dothi_project_get_srid (project));
      return NULL;
    }
  return g_steal_pointer (&info);
}

static gboolean
check_definition (DothiProject *project, Definition *def, GError **error)
{
  const char *n = def->name;

  for (guint i = 0; i < def->edges->len; i++)
    {
      EdgeDef *edge = g_ptr_array_index (def->edges, i);
      g_autoptr(DothiLayerInfo) info = check_layer (project, n, edge->layer,
                                                    DOTHI_GEOMETRY_KIND_MULTILINESTRING, error);
      int f;

      if (info == NULL
          || !check_field (n, info, edge->id_field, "id_field", error)
          || !check_field (n, info, edge->length_field, "length_field", error))
        return FALSE;
      g_free (edge->layer);
      edge->layer = g_strdup (info->name);
      f = edge->length_field ? dothi_layer_info_find_field (info, edge->length_field) : -1;
      if (f >= 0)
        {
          DothiField *field = g_ptr_array_index (info->fields, f);

          if (field->type != DOTHI_FIELD_REAL && field->type != DOTHI_FIELD_INTEGER)
            return invalid (error,
                            /* Translators: network name, field name, layer name */
                            _("Network “%s”: the length field “%s” of layer “%s” is not a number"),
                            n, edge->length_field, info->name);
        }
    }
  for (guint i = 0; i < def->nodes->len; i++)
    {
      NodeDef *nd = g_ptr_array_index (def->nodes, i);
      g_autoptr(DothiLayerInfo) info = check_layer (project, n, nd->layer,
                                                    DOTHI_GEOMETRY_KIND_MULTIPOINT, error);

      if (info == NULL
          || !check_field (n, info, nd->id_field, "id_field", error)
          || !check_field (n, info, nd->status_field, "status_field", error)
          || !check_field (n, info, nd->kind_field, "kind_field", error))
        return FALSE;
      g_free (nd->layer);
      nd->layer = g_strdup (info->name);
    }
  if (def->parcel_layer != NULL)
    {
      g_autoptr(DothiLayerInfo) info = check_layer (project, n, def->parcel_layer,
                                                    DOTHI_GEOMETRY_KIND_MULTIPOLYGON, error);
      if (info == NULL)
        return FALSE;
    }
  return TRUE;
}

/* ---- storage ------------------------------------------------------------- */

static gboolean
set_db_error (sqlite3 *db, const char *context, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: first a file or layer name, then the database's own message */
               _("Database error in “%s”: %s"), context, sqlite3_errmsg (db));
  return FALSE;
}

static sqlite3 *
project_db (DothiProject *project, GError **error)
{
  DothiStore *store = dothi_project_get_store (project);

  if (!DOTHI_IS_SPATIALITE_STORE (store))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: project file */
                   _("Networks of “%s” need a SpatiaLite project"),
                   dothi_project_get_path (project));
      return NULL;
    }
  return dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (store));
}

static gboolean
has_table (sqlite3 *db, const char *table)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  return sqlite3_prepare_v2 (db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                             -1, &stmt, NULL) == SQLITE_OK
         && sqlite3_bind_text (stmt, 1, table, -1, SQLITE_STATIC) == SQLITE_OK
         && sqlite3_step (stmt) == SQLITE_ROW;
}


static gboolean
exec_sql (sqlite3 *db, const char *sql, const char *path, GError **error)
{
  if (sqlite3_exec (db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return set_db_error (db, path, error);
  return TRUE;
}

/* BEGIN IMMEDIATE on the project's connection: definitions and the built
 * topology are not features, so they are no action in the history. */
static sqlite3 *
begin_write (DothiProject *project, GError **error)
{
  const char *path = dothi_project_get_path (project);
  sqlite3 *db;

  if (dothi_project_get_read_only (project))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY,
                   _("Project “%s” is open read-only"), path);
      return NULL;
    }
  db = project_db (project, error);
  if (db == NULL)
    return NULL;
  if (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    {
      if ((sqlite3_extended_errcode (db) & 0xff) == SQLITE_BUSY)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_BUSY,
                     /* Translators: project file */
                     _("Another program is writing to “%s”; try again when it has finished"),
                     path);
      else
        set_db_error (db, path, error);
      return NULL;
    }
  return db;
}

static gboolean
end_write (sqlite3 *db, gboolean ok, const char *path, GError **error)
{
  if (ok && exec_sql (db, "COMMIT", path, error))
    return TRUE;
  if (!sqlite3_get_autocommit (db))
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

static gboolean
ensure_table (sqlite3 *db, const char *table, const char *ddl, const char *path, GError **error)
{
  return dothi_spatialite_ensure_own_table (db, table, ddl, path, error);
}

gboolean
dothi_network_define (DothiProject  *project,
                      const char    *json,
                      GError       **error)
{
  g_autoptr(Definition) def = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  const char *path;
  sqlite3 *db;
  gboolean ok;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), FALSE);
  g_return_val_if_fail (json != NULL, FALSE);

  path = dothi_project_get_path (project);
  def = parse_definition (json, error);
  if (def == NULL || !check_definition (project, def, error))
    return FALSE;

  db = begin_write (project, error);
  if (db == NULL)
    return FALSE;
  ok = ensure_table (db, "dothi_networks",
                     "CREATE TABLE dothi_networks (\n"
                     "  name TEXT PRIMARY KEY,\n"
                     "  json TEXT NOT NULL,\n"
                     "  modified TEXT)", path, error);
  if (ok)
    {
      ok = sqlite3_prepare_v2 (db,
                               "INSERT INTO dothi_networks (name, json, modified) "
                               "VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) "
                               "ON CONFLICT (name) DO UPDATE SET json = excluded.json, "
                               "modified = excluded.modified", -1, &stmt, NULL) == SQLITE_OK
           && sqlite3_bind_text (stmt, 1, def->name, -1, SQLITE_STATIC) == SQLITE_OK
           && sqlite3_bind_text (stmt, 2, def->json, -1, SQLITE_STATIC) == SQLITE_OK
           && sqlite3_step (stmt) == SQLITE_DONE;
      if (!ok)
        set_db_error (db, path, error);
      g_clear_pointer (&stmt, sqlite3_finalize);
    }
  return end_write (db, ok, path, error);
}

GStrv
dothi_network_list (DothiProject *project, GError **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(sqlite3_stmt) stmt = NULL;
  sqlite3 *db;
  int rc;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);

  db = project_db (project, error);
  if (db == NULL)
    return NULL;
  if (has_table (db, "dothi_networks"))
    {
      if (sqlite3_prepare_v2 (db, "SELECT name FROM dothi_networks ORDER BY name", -1, &stmt,
                              NULL) != SQLITE_OK)
        {
          set_db_error (db, dothi_project_get_path (project), error);
          return NULL;
        }
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        g_strv_builder_add (builder, (const char *) sqlite3_column_text (stmt, 0));
      if (rc != SQLITE_DONE)
        {
          set_db_error (db, dothi_project_get_path (project), error);
          return NULL;
        }
    }
  return g_strv_builder_end (builder);
}

static char *
read_definition (sqlite3 *db, const char *name, const char *path, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *clean = g_utf8_normalize (name, -1, G_NORMALIZE_NFC);
  int rc;

  if (clean != NULL && has_table (db, "dothi_networks"))
    {
      g_strstrip (clean);
      if (sqlite3_prepare_v2 (db, "SELECT json FROM dothi_networks WHERE name = ?1", -1, &stmt,
                              NULL) != SQLITE_OK
          || sqlite3_bind_text (stmt, 1, clean, -1, SQLITE_STATIC) != SQLITE_OK)
        {
          set_db_error (db, path, error);
          return NULL;
        }
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        return g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      if (rc != SQLITE_DONE)
        {
          set_db_error (db, path, error);
          return NULL;
        }
    }
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
               /* Translators: network name, project file */
               _("There is no network “%s” in “%s”"), name, path);
  return NULL;
}

char *
dothi_network_dup_definition (DothiProject  *project,
                              const char    *name,
                              GError       **error)
{
  sqlite3 *db;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  db = project_db (project, error);
  if (db == NULL)
    return NULL;
  return read_definition (db, name, dothi_project_get_path (project), error);
}

/* Loads and re-checks definition @name of @project. */
static Definition *
load_definition (DothiProject *project, const char *name, GError **error)
{
  g_autofree char *json = dothi_network_dup_definition (project, name, error);
  g_autoptr(Definition) def = NULL;

  if (json == NULL)
    return NULL;
  def = parse_definition (json, error);
  if (def == NULL || !check_definition (project, def, error))
    return NULL;
  return g_steal_pointer (&def);
}

/* ---- geometry ------------------------------------------------------------ */

/* ISO WKB as dothi_blob_to_wkb() writes it: little-endian. */
typedef struct {
  const guint8 *p;
  const guint8 *end;
} Wkb;

typedef void (*PartFunc) (const guint8 *coords, guint32 n, guint dims, gpointer data);

static gboolean
wkb_u32 (Wkb *r, guint32 *v)
{
  if (r->end - r->p < 4)
    return FALSE;
  memcpy (v, r->p, 4);
  *v = GUINT32_FROM_LE (*v);
  r->p += 4;
  return TRUE;
}

static inline double
wkb_double (const guint8 *p)
{
  guint64 x;
  double d;

  memcpy (&x, p, 8);
  x = GUINT64_FROM_LE (x);
  memcpy (&d, &x, 8);
  return d;
}

static gboolean
wkb_points (Wkb *r, guint dims, PartFunc fn, gpointer data)
{
  guint32 n;
  gsize stride = 8 * (gsize) dims;

  if (!wkb_u32 (r, &n) || (gsize) (r->end - r->p) / stride < n)
    return FALSE;
  if (n > 0)
    fn (r->p, n, dims, data);
  r->p += n * stride;
  return TRUE;
}

/* Calls @fn for each point, line string and polygon ring of a geometry. */
static gboolean
wkb_walk (Wkb *r, PartFunc fn, gpointer data, int depth)
{
  guint32 type = 0, base, dims;

  if (r->end - r->p < 5 || r->p[0] != 1 || depth > 8)
    return FALSE;
  r->p++;
  wkb_u32 (r, &type);
  base = type % 1000;
  switch (type / 1000)
    {
    case 0: dims = 2; break;
    case 1: case 2: dims = 3; break;
    case 3: dims = 4; break;
    default: return FALSE;
    }
  switch (base)
    {
    case 1:
      if ((gsize) (r->end - r->p) < 8 * (gsize) dims)
        return FALSE;
      if (!isnan (wkb_double (r->p)))
        fn (r->p, 1, dims, data);
      r->p += 8 * dims;
      return TRUE;
    case 2:
      return wkb_points (r, dims, fn, data);
    case 3:
      {
        guint32 rings;

        if (!wkb_u32 (r, &rings))
          return FALSE;
        for (guint32 i = 0; i < rings; i++)
          if (!wkb_points (r, dims, fn, data))
            return FALSE;
        return TRUE;
      }
    case 4: case 5: case 6: case 7:
      {
        guint32 parts;

        if (!wkb_u32 (r, &parts))
          return FALSE;
        for (guint32 i = 0; i < parts; i++)
          if (!wkb_walk (r, fn, data, depth + 1))
            return FALSE;
        return TRUE;
      }
    default:
      return FALSE;
    }
}

static gboolean
blob_walk (const void *blob, int size, GByteArray *wkb, PartFunc fn, gpointer data)
{
  Wkb r;

  if (blob == NULL || size <= 0 || !dothi_blob_to_wkb (blob, size, wkb, NULL))
    return FALSE;
  r.p = wkb->data;
  r.end = wkb->data + wkb->len;
  return wkb_walk (&r, fn, data, 0);
}

/* Squared distance from (px, py) to segment a-b, and the parameter 0..1
 * of the nearest point. */
static inline double
segment_dist2 (double px, double py, double ax, double ay, double bx, double by, double *t)
{
  double dx = bx - ax, dy = by - ay;
  double len2 = dx * dx + dy * dy;
  double u = 0, ex, ey;

  if (len2 > 0)
    u = CLAMP (((px - ax) * dx + (py - ay) * dy) / len2, 0.0, 1.0);
  ex = ax + u * dx - px;
  ey = ay + u * dy - py;
  if (t)
    *t = u;
  return ex * ex + ey * ey;
}

/* Whether segments a-b and c-d intersect; *ix, *iy get the point of a
 * proper crossing. */
static gboolean
segments_cross (double ax, double ay, double bx, double by,
                double cx, double cy, double dx, double dy, double *ix, double *iy)
{
  double rx = bx - ax, ry = by - ay, sx = dx - cx, sy = dy - cy;
  double den = rx * sy - ry * sx;
  double t, u;

  if (den == 0)
    return FALSE;
  t = ((cx - ax) * sy - (cy - ay) * sx) / den;
  u = ((cx - ax) * ry - (cy - ay) * rx) / den;
  if (t < 0 || t > 1 || u < 0 || u > 1)
    return FALSE;
  if (ix)
    {
      *ix = ax + t * rx;
      *iy = ay + t * ry;
    }
  return TRUE;
}

static double
segment_segment_dist2 (double ax, double ay, double bx, double by,
                       double cx, double cy, double dx, double dy)
{
  double d;

  if (segments_cross (ax, ay, bx, by, cx, cy, dx, dy, NULL, NULL))
    return 0;
  d = segment_dist2 (ax, ay, cx, cy, dx, dy, NULL);
  d = MIN (d, segment_dist2 (bx, by, cx, cy, dx, dy, NULL));
  d = MIN (d, segment_dist2 (cx, cy, ax, ay, bx, by, NULL));
  d = MIN (d, segment_dist2 (dx, dy, ax, ay, bx, by, NULL));
  return d;
}

/* ---- a hash grid ----------------------------------------------------------
 * Items by cell, bucketed by a hash of the cell with a counting sort: built
 * in O(n) without comparisons, looked up without a hash table. */

typedef struct {
  guint64 key;
  guint   item;
} GridPair;

typedef struct {
  double   minx, miny, cell;
  guint    mask;
  guint   *start;   /* mask + 2 */
  guint64 *keys;
  guint   *items;
} Grid;

static inline gint64
grid_coord (double v, double min, double cell)
{
  double c = floor ((v - min) / cell);

  return (gint64) CLAMP (c, -1e9, 1e9);
}

static inline guint64
grid_key (gint64 cx, gint64 cy)
{
  return ((guint64) (guint32) (gint32) cx << 32) | (guint32) (gint32) cy;
}

static inline guint
grid_hash (const Grid *g, guint64 key)
{
  return (guint) ((key * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15)) >> 32) & g->mask;
}

static void
grid_init (Grid *g, double minx, double miny, double cell)
{
  memset (g, 0, sizeof *g);
  g->minx = minx;
  g->miny = miny;
  g->cell = cell;
}

static void
grid_clear (Grid *g)
{
  g_clear_pointer (&g->start, g_free);
  g_clear_pointer (&g->keys, g_free);
  g_clear_pointer (&g->items, g_free);
}

static void
grid_build (Grid *g, const GridPair *pairs, guint n)
{
  guint buckets = 16;

  while (buckets < n)
    buckets <<= 1;
  g->mask = buckets - 1;
  g->start = g_new0 (guint, buckets + 2);
  g->keys = g_new (guint64, MAX (n, 1));
  g->items = g_new (guint, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    g->start[grid_hash (g, pairs[i].key) + 2]++;
  for (guint b = 2; b < buckets + 2; b++)
    g->start[b] += g->start[b - 1];
  /* start[h + 1] is now where bucket h begins; filling moves it to its end. */
  for (guint i = 0; i < n; i++)
    {
      guint at = g->start[grid_hash (g, pairs[i].key) + 1]++;
      g->keys[at] = pairs[i].key;
      g->items[at] = pairs[i].item;
    }
}

/* The slice of bucket items that may hold cell (@cx, @cy); callers compare keys. */
static inline void
grid_bucket (const Grid *g, gint64 cx, gint64 cy, guint64 *key, guint *from, guint *to)
{
  guint h;

  *key = grid_key (cx, cy);
  h = grid_hash (g, *key);
  *from = g->start[h];
  *to = g->start[h + 1];
}

static inline void
grid_pair (GArray *pairs, gint64 cx, gint64 cy, guint item)
{
  GridPair p = { grid_key (cx, cy), item };

  g_array_append_val (pairs, p);
}

/* Adds @item to every cell segment a-b passes through (Amanatides-Woo). */
static void
grid_add_segment (const Grid *g, GArray *pairs, double ax, double ay, double bx, double by,
                  guint item)
{
  gint64 cx = grid_coord (ax, g->minx, g->cell), cy = grid_coord (ay, g->miny, g->cell);
  gint64 ex = grid_coord (bx, g->minx, g->cell), ey = grid_coord (by, g->miny, g->cell);
  double dx = bx - ax, dy = by - ay;
  int stepx = dx > 0 ? 1 : -1, stepy = dy > 0 ? 1 : -1;
  double tmaxx = INFINITY, tmaxy = INFINITY, tdx = INFINITY, tdy = INFINITY;
  gint64 guard = (ex > cx ? ex - cx : cx - ex) + (ey > cy ? ey - cy : cy - ey) + 2;

  if (dx != 0)
    {
      tmaxx = (g->minx + (cx + (stepx > 0)) * g->cell - ax) / dx;
      tdx = g->cell / fabs (dx);
    }
  if (dy != 0)
    {
      tmaxy = (g->miny + (cy + (stepy > 0)) * g->cell - ay) / dy;
      tdy = g->cell / fabs (dy);
    }
  grid_pair (pairs, cx, cy, item);
  while ((cx != ex || cy != ey) && guard-- > 0)
    {
      if (tmaxx < tmaxy)
        {
          cx += stepx;
          tmaxx += tdx;
        }
      else
        {
          cy += stepy;
          tmaxy += tdy;
        }
      grid_pair (pairs, cx, cy, item);
    }
  if (cx != ex || cy != ey)
    grid_pair (pairs, ex, ey, item);
}

/* ---- the network ---------------------------------------------------------- */

typedef struct {
  double      x, y;
  gint64      fid;
  const char *id;
  const char *kind;
  gint16      layer;      /* index into def->nodes; -1 for a bare junction */
  guint8      role;
  guint8      state;
  guint8      critical;
} Node;

typedef struct {
  guint  a, b;
  guint  line;
  double length;
  double t0, t1;
  double s0, s1;          /* metres along the line part */
} Edge;

/* One line string part of an edge feature. */
typedef struct {
  guint       first;      /* its first point in pts */
  guint       n;
  gint64      fid;
  const char *id;
  guint16     layer;      /* index into def->edges */
  double      length;
  double      offset;     /* length of the feature's parts before it */
  double      feature_length;
  double      value;      /* the length field's value, or NAN */
  guint       edge_first;
  guint       n_edges;
} Line;

typedef struct {
  guint16 layer;
  gint64  fid;
  guint   node;
} FeatureRef;

typedef struct {
  guint   node;
  double  distance;
} OffLine;

struct _DothiNetwork {
  char         *path;
  Definition   *def;
  guint         n_nodes;
  guint         n_edges;
  guint         n_lines;
  Node         *nodes;
  Edge         *edges;
  Line         *lines;
  guint        *adj_off;    /* n_nodes + 1 */
  guint        *adj_edge;   /* 2 n_edges */
  guint        *adj_node;   /* the other end of each adj_edge */
  /* Compact copies for the traces, which must not touch Node structs. */
  guint8       *node_cls;   /* PASS, TO_CLOSE or CLOSED */
  guint        *sources;
  guint         n_sources;
  guint        *customers;
  guint         n_customers;
  double       *pts;        /* x, y */
  double       *pt_arc;     /* metres from its part's start */
  guint        *pt_line;
  guint         n_pts;
  Grid          seg_grid;   /* segment i: pts i .. i + 1 of one part */
  double        extent[4];
  FeatureRef   *features;   /* sorted by layer, fid */
  guint         n_features;
  GArray       *off_line;   /* OffLine */
  GStringChunk *strings;
  /* Computed with the topology, read-only afterwards, so traces can run
   * on several threads at once. */
  guint8       *fed_node;   /* reached from the sources as states are */
  guint8       *fed_edge;
  double       *flow_dist;  /* metres from the nearest source */
  gint64        audit_mark; /* the last audit row when it was built */
};

/* Node classes for the walks. */
enum {
  PASS = 0,
  TO_CLOSE,      /* an open valve: the crew can shut it */
  CLOSED,        /* already shut: stops every walk */
};

static inline gboolean
node_is_barrier (const Node *node)
{
  return is_valve_role (node->role) && node->state == DOTHI_VALVE_CLOSED;
}

void
dothi_network_free (DothiNetwork *network)
{
  if (network == NULL)
    return;
  g_free (network->path);
  definition_free (network->def);
  g_free (network->nodes);
  g_free (network->edges);
  g_free (network->lines);
  g_free (network->adj_off);
  g_free (network->adj_edge);
  g_free (network->adj_node);
  g_free (network->node_cls);
  g_free (network->sources);
  g_free (network->customers);
  g_free (network->pts);
  g_free (network->pt_arc);
  g_free (network->pt_line);
  grid_clear (&network->seg_grid);
  g_free (network->features);
  g_clear_pointer (&network->off_line, g_array_unref);
  if (network->strings)
    g_string_chunk_free (network->strings);
  g_free (network->fed_node);
  g_free (network->fed_edge);
  g_free (network->flow_dist);
  g_free (network);
}

/* ---- building ------------------------------------------------------------- */

static void compute_supply (DothiNetwork *net);

/* A node feature while building. */
typedef struct {
  double      x, y;
  gint64      fid;
  const char *id;
  const char *kind;
  guint16     layer;
  guint8      role;
  guint8      state;
  guint8      critical;
  guint       elem;       /* union-find element */
  double      distance;   /* to the nearest line, when off it */
} Feature;

typedef struct {
  guint  line;
  double s;
  guint  elem;
} Split;

typedef struct {
  DothiNetwork *net;
  GArray       *pts;       /* double */
  GArray       *lines;     /* Line */
  GArray       *features;  /* Feature */
  guint        *parent;    /* union-find */
  /* the row being read */
  gint64        fid;
  const char   *id;
  guint16       layer;
  double        value;
  guint         feature_first_line;
  double        px, py;
  gboolean      have_point;
} Builder;

static guint
uf_find (guint *parent, guint x)
{
  guint root = x;

  while (parent[root] != root)
    root = parent[root];
  while (parent[x] != root)
    {
      guint next = parent[x];
      parent[x] = root;
      x = next;
    }
  return root;
}

static void
uf_union (guint *parent, guint a, guint b)
{
  a = uf_find (parent, a);
  b = uf_find (parent, b);
  /* The smaller element is the root: clusters keep their first member. */
  if (a < b)
    parent[b] = a;
  else if (b < a)
    parent[a] = b;
}

static void
line_part_cb (const guint8 *coords, guint32 n, guint dims, gpointer data)
{
  Builder *b = data;
  Line line = { 0 };
  gsize stride = 8 * (gsize) dims;
  double px = 0, py = 0;

  if (n < 2)
    return;
  line.first = b->pts->len / 2;
  line.fid = b->fid;
  line.id = b->id;
  line.layer = b->layer;
  line.value = b->value;
  for (guint32 i = 0; i < n; i++)
    {
      double xy[2] = { wkb_double (coords + i * stride), wkb_double (coords + i * stride + 8) };

      /* Repeated vertices make zero-length segments: dropped. */
      if (i > 0 && xy[0] == px && xy[1] == py)
        continue;
      if (i > 0)
        line.length += hypot (xy[0] - px, xy[1] - py);
      g_array_append_vals (b->pts, xy, 2);
      px = xy[0];
      py = xy[1];
    }
  line.n = b->pts->len / 2 - line.first;
  if (line.n < 2)
    {
      /* A line of one repeated point still joins its nodes. */
      g_array_append_vals (b->pts, &g_array_index (b->pts, double, 2 * line.first), 2);
      line.n = 2;
    }
  g_array_append_val (b->lines, line);
}

static void
point_cb (const guint8 *coords, guint32 n, guint dims, gpointer data)
{
  Builder *b = data;

  if (b->have_point)
    return;
  b->px = wkb_double (coords);
  b->py = wkb_double (coords + 8);
  b->have_point = TRUE;
}

static gboolean
cancelled (GCancellable *cancellable, guint row, GError **error)
{
  return (row & 4095) == 0 && g_cancellable_set_error_if_cancelled (cancellable, error);
}

static gboolean
read_edges (Builder *b, sqlite3 *db, guint index, GCancellable *cancellable, GError **error)
{
  EdgeDef *def = g_ptr_array_index (b->net->def->edges, index);
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GByteArray) wkb = g_byte_array_new ();
  g_autoptr(DothiSqlStr) id_col = def->id_field ? sqlite3_mprintf ("\"%w\"", def->id_field) : NULL;
  g_autoptr(DothiSqlStr) len_col = def->length_field ? sqlite3_mprintf ("\"%w\"", def->length_field) : NULL;
  guint row = 0;
  int rc;

  sql = sqlite3_mprintf ("SELECT fid, geom, %s, %s FROM \"%w\"",
                         id_col ? id_col : "NULL", len_col ? len_col : "NULL", def->layer);
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (db, def->layer, error);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      double total = 0;

      if (cancelled (cancellable, ++row, error))
        return FALSE;
      b->fid = sqlite3_column_int64 (stmt, 0);
      b->layer = index;
      b->id = sqlite3_column_type (stmt, 2) == SQLITE_NULL ? NULL
              : g_string_chunk_insert (b->net->strings, (const char *) sqlite3_column_text (stmt, 2));
      b->value = sqlite3_column_type (stmt, 3) == SQLITE_NULL ? NAN : sqlite3_column_double (stmt, 3);
      b->feature_first_line = b->lines->len;
      /* An empty or unreadable geometry is no line: nothing to trace. */
      blob_walk (sqlite3_column_blob (stmt, 1), sqlite3_column_bytes (stmt, 1), wkb,
                 line_part_cb, b);
      for (guint l = b->feature_first_line; l < b->lines->len; l++)
        {
          Line *line = &g_array_index (b->lines, Line, l);
          line->offset = total;
          total += line->length;
        }
      for (guint l = b->feature_first_line; l < b->lines->len; l++)
        g_array_index (b->lines, Line, l).feature_length = total;
    }
  if (rc != SQLITE_DONE)
    return set_db_error (db, def->layer, error);
  return TRUE;
}

static DothiValveState
valve_state (NodeDef *def, const char *value, GHashTable *cache)
{
  g_autofree char *folded = NULL;
  gpointer found;

  if (value == NULL)
    return DOTHI_VALVE_OPEN;
  if (g_hash_table_lookup_extended (cache, value, NULL, &found))
    return GPOINTER_TO_UINT (found);
  folded = dothi_text_fold (value);
  for (guint s = 0; s < 3; s++)
    for (guint i = 0; i < def->folded[s]->len; i++)
      if (g_strcmp0 (folded, g_ptr_array_index (def->folded[s], i)) == 0)
        {
          g_hash_table_insert (cache, g_strdup (value), GUINT_TO_POINTER (s));
          return s;
        }
  /* Unknown values read as open: an unknown state must not hide a valve
   * the isolation may need. */
  g_hash_table_insert (cache, g_strdup (value), GUINT_TO_POINTER (DOTHI_VALVE_OPEN));
  return DOTHI_VALVE_OPEN;
}

static gboolean
kind_is_critical (const char *kind, GHashTable *cache)
{
  g_autofree char *folded = NULL;
  gpointer found;
  gboolean critical = FALSE;

  if (kind == NULL)
    return FALSE;
  if (g_hash_table_lookup_extended (cache, kind, NULL, &found))
    return GPOINTER_TO_UINT (found);
  folded = dothi_text_fold (kind);
  for (guint i = 0; i < G_N_ELEMENTS (critical_kinds); i++)
    critical |= strstr (folded, critical_kinds[i]) != NULL;
  g_hash_table_insert (cache, g_strdup (kind), GUINT_TO_POINTER (critical));
  return critical;
}

static gboolean
read_nodes (Builder *b, sqlite3 *db, guint index, GCancellable *cancellable, GError **error)
{
  NodeDef *def = g_ptr_array_index (b->net->def->nodes, index);
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GByteArray) wkb = g_byte_array_new ();
  g_autoptr(GHashTable) states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) kinds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(DothiSqlStr) id_col = def->id_field ? sqlite3_mprintf ("\"%w\"", def->id_field) : NULL;
  g_autoptr(DothiSqlStr) st_col = def->status_field ? sqlite3_mprintf ("\"%w\"", def->status_field) : NULL;
  g_autoptr(DothiSqlStr) kd_col = def->kind_field ? sqlite3_mprintf ("\"%w\"", def->kind_field) : NULL;
  guint row = 0;
  int rc;

  sql = sqlite3_mprintf ("SELECT fid, geom, %s, %s, %s FROM \"%w\"",
                         id_col ? id_col : "NULL", st_col ? st_col : "NULL",
                         kd_col ? kd_col : "NULL", def->layer);
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (db, def->layer, error);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      Feature f = { 0 };

      if (cancelled (cancellable, ++row, error))
        return FALSE;
      b->have_point = FALSE;
      if (!blob_walk (sqlite3_column_blob (stmt, 1), sqlite3_column_bytes (stmt, 1), wkb,
                      point_cb, b)
          || !b->have_point)
        continue;
      f.x = b->px;
      f.y = b->py;
      f.fid = sqlite3_column_int64 (stmt, 0);
      f.layer = index;
      f.role = def->role;
      if (sqlite3_column_type (stmt, 2) != SQLITE_NULL)
        f.id = g_string_chunk_insert (b->net->strings, (const char *) sqlite3_column_text (stmt, 2));
      if (is_valve_role (def->role))
        f.state = valve_state (def, (const char *) sqlite3_column_text (stmt, 3), states);
      if (sqlite3_column_type (stmt, 4) != SQLITE_NULL)
        {
          const char *kind = (const char *) sqlite3_column_text (stmt, 4);

          f.kind = g_string_chunk_insert_const (b->net->strings, kind);
          f.critical = kind_is_critical (kind, kinds);
        }
      g_array_append_val (b->features, f);
    }
  if (rc != SQLITE_DONE)
    return set_db_error (db, def->layer, error);
  return TRUE;
}

static int
compare_splits (gconstpointer a, gconstpointer b)
{
  const Split *x = a, *y = b;

  if (x->line != y->line)
    return x->line < y->line ? -1 : 1;
  if (x->s != y->s)
    return x->s < y->s ? -1 : 1;
  return x->elem < y->elem ? -1 : x->elem > y->elem;
}

static int
compare_features (gconstpointer a, gconstpointer b)
{
  const FeatureRef *x = a, *y = b;

  if (x->layer != y->layer)
    return x->layer < y->layer ? -1 : 1;
  return x->fid < y->fid ? -1 : x->fid > y->fid;
}

/* Priority of a role when several features fall on one node. */
static int
role_rank (DothiNodeRole role)
{
  switch (role)
    {
    case DOTHI_NODE_VALVE:
    case DOTHI_NODE_SWITCH:
      return 5;
    case DOTHI_NODE_SOURCE:
      return 4;
    case DOTHI_NODE_CUSTOMER:
      return 3;
    case DOTHI_NODE_HYDRANT:
      return 2;
    default:
      return 1;
    }
}

/* The nearest segment to (@x, @y) within @max metres: its first point, or
 * G_MAXUINT; *@d2 the squared distance, *@t the parameter on it. */
static guint
nearest_segment (DothiNetwork *net, double x, double y, double max, double *d2, double *t)
{
  const Grid *g = &net->seg_grid;
  guint best = G_MAXUINT;
  double best_d2 = max * max, best_t = 0;
  gint64 x0 = grid_coord (x - max, g->minx, g->cell), x1 = grid_coord (x + max, g->minx, g->cell);
  gint64 y0 = grid_coord (y - max, g->miny, g->cell), y1 = grid_coord (y + max, g->miny, g->cell);

  if (net->n_pts < 2)
    return G_MAXUINT;
  if ((x1 - x0 + 1) * (y1 - y0 + 1) > 4 * (gint64) net->n_pts + 64)
    {
      /* Farther than the grid is worth: every segment. */
      for (guint i = 0; i + 1 < net->n_pts; i++)
        {
          double u, d;

          if (net->pt_line[i] != net->pt_line[i + 1])
            continue;
          d = segment_dist2 (x, y, net->pts[2 * i], net->pts[2 * i + 1],
                             net->pts[2 * i + 2], net->pts[2 * i + 3], &u);
          if (d <= best_d2 && (best == G_MAXUINT || d < best_d2 || i < best))
            {
              best = i;
              best_d2 = d;
              best_t = u;
            }
        }
    }
  else
    for (gint64 cx = x0; cx <= x1; cx++)
      for (gint64 cy = y0; cy <= y1; cy++)
        {
          guint64 key;
          guint from, to;

          grid_bucket (g, cx, cy, &key, &from, &to);
          for (guint k = from; k < to; k++)
            {
              guint i = g->items[k];
              double u, d;

              if (g->keys[k] != key)
                continue;
              d = segment_dist2 (x, y, net->pts[2 * i], net->pts[2 * i + 1],
                                 net->pts[2 * i + 2], net->pts[2 * i + 3], &u);
              /* Ties go to the lower segment, so the answer is stable. */
              if (d < best_d2 || (d == best_d2 && (best == G_MAXUINT || i < best)))
                {
                  best = i;
                  best_d2 = d;
                  best_t = u;
                }
            }
        }
  if (d2)
    *d2 = best_d2;
  if (t)
    *t = best_t;
  return best;
}

/* Metres along its line part of the point at @t on segment @seg. */
static double
segment_arc (DothiNetwork *net, guint seg, double t)
{
  return net->pt_arc[seg] + t * (net->pt_arc[seg + 1] - net->pt_arc[seg]);
}

static gboolean
build_topology (Builder *b, GCancellable *cancellable, GError **error)
{
  DothiNetwork *net = b->net;
  double tol = net->def->tolerance;
  guint n_lines = b->lines->len;
  guint n_ends = 2 * n_lines;
  guint n_feat = b->features->len;
  guint n_elems = n_ends + n_feat;
  g_autoptr(GArray) pairs = g_array_new (FALSE, FALSE, sizeof (GridPair));
  g_autoptr(GArray) splits = g_array_new (FALSE, FALSE, sizeof (Split));
  g_autofree guint *node_of = NULL;
  g_autofree guint *parent = NULL;
  g_autofree guint *cursor = NULL;
  Grid end_grid;
  double seg_total = 0;
  guint n_segs = 0, n_nodes = 0, n_edges = 0, n_off = 0;

  net->n_lines = n_lines;
  net->lines = (Line *) g_array_free (g_steal_pointer (&b->lines), FALSE);
  net->n_pts = b->pts->len / 2;
  net->pts = (double *) g_array_free (g_steal_pointer (&b->pts), FALSE);
  net->pt_arc = g_new (double, MAX (net->n_pts, 1));
  net->pt_line = g_new (guint, MAX (net->n_pts, 1));

  net->extent[0] = net->extent[1] = INFINITY;
  net->extent[2] = net->extent[3] = -INFINITY;
  for (guint l = 0; l < n_lines; l++)
    {
      Line *line = &net->lines[l];
      double arc = 0;

      for (guint i = line->first; i < line->first + line->n; i++)
        {
          double x = net->pts[2 * i], y = net->pts[2 * i + 1];

          if (i > line->first)
            arc += hypot (x - net->pts[2 * i - 2], y - net->pts[2 * i - 1]);
          net->pt_arc[i] = arc;
          net->pt_line[i] = l;
          net->extent[0] = MIN (net->extent[0], x);
          net->extent[1] = MIN (net->extent[1], y);
          net->extent[2] = MAX (net->extent[2], x);
          net->extent[3] = MAX (net->extent[3], y);
        }
      seg_total += line->length;
      n_segs += line->n - 1;
    }
  for (guint k = 0; k < n_feat; k++)
    {
      Feature *f = &g_array_index (b->features, Feature, k);
      net->extent[0] = MIN (net->extent[0], f->x);
      net->extent[1] = MIN (net->extent[1], f->y);
      net->extent[2] = MAX (net->extent[2], f->x);
      net->extent[3] = MAX (net->extent[3], f->y);
    }
  if (!isfinite (net->extent[0]))
    memset (net->extent, 0, sizeof net->extent);

  /* Endpoints: a grid of cells of the tolerance, union-find over pairs
   * within it. */
  parent = g_new (guint, MAX (n_elems, 1));
  for (guint i = 0; i < n_elems; i++)
    parent[i] = i;
  grid_init (&end_grid, net->extent[0], net->extent[1], tol);
  g_array_set_size (pairs, n_ends);
  for (guint e = 0; e < n_ends; e++)
    {
      const Line *line = &net->lines[e / 2];
      guint p = e % 2 == 0 ? line->first : line->first + line->n - 1;
      GridPair *pair = &g_array_index (pairs, GridPair, e);

      pair->key = grid_key (grid_coord (net->pts[2 * p], end_grid.minx, tol),
                            grid_coord (net->pts[2 * p + 1], end_grid.miny, tol));
      pair->item = e;
    }
  grid_build (&end_grid, (GridPair *) pairs->data, pairs->len);
#define END_POINT(e) (((e) % 2 == 0) ? net->lines[(e) / 2].first \
                      : net->lines[(e) / 2].first + net->lines[(e) / 2].n - 1)
  for (guint e = 0; e < n_ends; e++)
    {
      guint p = END_POINT (e);
      double x = net->pts[2 * p], y = net->pts[2 * p + 1];
      gint64 cx = grid_coord (x, end_grid.minx, tol), cy = grid_coord (y, end_grid.miny, tol);

      for (gint64 i = cx - 1; i <= cx + 1; i++)
        for (gint64 j = cy - 1; j <= cy + 1; j++)
          {
            guint64 key;
            guint from, to;

            grid_bucket (&end_grid, i, j, &key, &from, &to);
            for (guint k = from; k < to; k++)
              {
                guint other = end_grid.items[k], q;

                if (end_grid.keys[k] != key || other <= e)
                  continue;
                q = END_POINT (other);
                if (hypot (net->pts[2 * q] - x, net->pts[2 * q + 1] - y) <= tol)
                  uf_union (parent, e, other);
              }
          }
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      grid_clear (&end_grid);
      return FALSE;
    }

  /* Segments: a grid of cells about a segment long. */
  {
    double cell = n_segs > 0 ? seg_total / n_segs : 1.0;
    double span = MAX (net->extent[2] - net->extent[0], net->extent[3] - net->extent[1]);

    cell = MAX (cell, 2 * tol);
    cell = MAX (cell, span / 65536.0);
    cell = MAX (cell, 1e-6);
    grid_init (&net->seg_grid, net->extent[0], net->extent[1], cell);
    g_array_set_size (pairs, 0);
    for (guint i = 0; i + 1 < net->n_pts; i++)
      if (net->pt_line[i] == net->pt_line[i + 1])
        grid_add_segment (&net->seg_grid, pairs, net->pts[2 * i], net->pts[2 * i + 1],
                          net->pts[2 * i + 2], net->pts[2 * i + 3], i);
    grid_build (&net->seg_grid, (GridPair *) pairs->data, pairs->len);
  }
  g_clear_pointer (&pairs, g_array_unref);

  /* Node features: onto an endpoint within the tolerance, else onto the
   * nearest line within it (a split), else off every line. */
  for (guint k = 0; k < n_feat; k++)
    {
      Feature *f = &g_array_index (b->features, Feature, k);
      gint64 cx = grid_coord (f->x, end_grid.minx, tol), cy = grid_coord (f->y, end_grid.miny, tol);
      guint best = G_MAXUINT, seg;
      double best_d = tol, d2, t;

      f->elem = n_ends + k;
      for (gint64 i = cx - 1; i <= cx + 1; i++)
        for (gint64 j = cy - 1; j <= cy + 1; j++)
          {
            guint64 key;
            guint from, to;

            grid_bucket (&end_grid, i, j, &key, &from, &to);
            for (guint m = from; m < to; m++)
              {
                guint e = end_grid.items[m], q;
                double d;

                if (end_grid.keys[m] != key)
                  continue;
                q = END_POINT (e);
                d = hypot (net->pts[2 * q] - f->x, net->pts[2 * q + 1] - f->y);
                if (d < best_d || (d == best_d && e < best))
                  {
                    best = e;
                    best_d = d;
                  }
              }
          }
      if (best != G_MAXUINT)
        {
          uf_union (parent, f->elem, best);
          continue;
        }
      seg = nearest_segment (net, f->x, f->y, tol, &d2, &t);
      if (seg != G_MAXUINT)
        {
          guint l = net->pt_line[seg];
          Split split = { l, segment_arc (net, seg, t), f->elem };

          if (split.s <= 0)
            uf_union (parent, f->elem, 2 * l);
          else if (split.s >= net->pt_arc[net->lines[l].first + net->lines[l].n - 1])
            uf_union (parent, f->elem, 2 * l + 1);
          else
            g_array_append_val (splits, split);
          continue;
        }
      f->distance = -1;   /* measured below */
      n_off++;
    }
  grid_clear (&end_grid);
#undef END_POINT

  /* Nodes: features first, in the order of the definition and the
   * layers, then the bare junctions of snapped endpoints. */
  node_of = g_new (guint, MAX (n_elems, 1));
  for (guint i = 0; i < n_elems; i++)
    node_of[i] = NO_NODE;
  net->nodes = g_new0 (Node, MAX (n_feat + n_ends, 1));
  net->features = g_new (FeatureRef, MAX (n_feat, 1));
  net->n_features = n_feat;
  net->off_line = g_array_new (FALSE, FALSE, sizeof (OffLine));
  for (guint k = 0; k < n_feat; k++)
    {
      Feature *f = &g_array_index (b->features, Feature, k);
      guint root = uf_find (parent, f->elem);
      Node *node;

      if (node_of[root] == NO_NODE)
        node_of[root] = n_nodes++;
      else if (role_rank (f->role) <= role_rank (net->nodes[node_of[root]].role))
        {
          net->features[k] = (FeatureRef) { f->layer, f->fid, node_of[root] };
          continue;
        }
      node = &net->nodes[node_of[root]];
      node->x = f->x;
      node->y = f->y;
      node->fid = f->fid;
      node->id = f->id;
      node->kind = f->kind;
      node->layer = f->layer;
      node->role = f->role;
      node->state = f->state;
      node->critical = f->critical;
      net->features[k] = (FeatureRef) { f->layer, f->fid, node_of[root] };
      if (f->distance < 0)
        {
          OffLine off = { node_of[root], 0 };
          g_array_append_val (net->off_line, off);
        }
    }
  for (guint e = 0; e < n_ends; e++)
    {
      guint root = uf_find (parent, e);

      if (node_of[root] == NO_NODE)
        {
          const Line *line = &net->lines[e / 2];
          guint p = e % 2 == 0 ? line->first : line->first + line->n - 1;
          Node *node = &net->nodes[n_nodes];

          node_of[root] = n_nodes++;
          node->x = net->pts[2 * p];
          node->y = net->pts[2 * p + 1];
          node->layer = -1;
          node->role = DOTHI_NODE_JUNCTION;
        }
    }
  net->n_nodes = n_nodes;
  qsort (net->features, n_feat, sizeof (FeatureRef), compare_features);

  /* Edges: each line part from its start through its splits to its end. */
  g_array_sort (splits, compare_splits);
  net->edges = g_new (Edge, MAX (n_lines + splits->len, 1));
  {
    guint sp = 0;

    for (guint l = 0; l < n_lines; l++)
      {
        Line *line = &net->lines[l];
        double len = net->pt_arc[line->first + line->n - 1];
        guint prev = node_of[uf_find (parent, 2 * l)];
        double prev_s = 0;

        line->edge_first = n_edges;
        for (;; sp++)
          {
            gboolean last = sp >= splits->len || g_array_index (splits, Split, sp).line != l;
            guint next = last ? node_of[uf_find (parent, 2 * l + 1)]
                              : node_of[uf_find (parent, g_array_index (splits, Split, sp).elem)];
            double s = last ? len : g_array_index (splits, Split, sp).s;
            Edge *edge = &net->edges[n_edges++];
            double flen = line->feature_length;

            edge->a = prev;
            edge->b = next;
            edge->line = l;
            edge->s0 = prev_s;
            edge->s1 = s;
            edge->t0 = flen > 0 ? (line->offset + prev_s) / flen : 0;
            edge->t1 = flen > 0 ? (line->offset + s) / flen : 1;
            if (!isnan (line->value))
              edge->length = flen > 0 ? line->value * (s - prev_s) / flen
                                      : line->value / MAX (line->n_edges, 1);
            else
              edge->length = s - prev_s;
            prev = next;
            prev_s = s;
            if (last)
              break;
          }
        line->n_edges = n_edges - line->edge_first;
      }
  }
  net->n_edges = n_edges;

  /* CSR adjacency. */
  net->adj_off = g_new0 (guint, n_nodes + 1);
  net->adj_edge = g_new (guint, MAX (2 * n_edges, 1));
  for (guint e = 0; e < n_edges; e++)
    {
      net->adj_off[net->edges[e].a + 1]++;
      net->adj_off[net->edges[e].b + 1]++;
    }
  for (guint v = 0; v < n_nodes; v++)
    net->adj_off[v + 1] += net->adj_off[v];
  net->adj_node = g_new (guint, MAX (2 * n_edges, 1));
  cursor = g_memdup2 (net->adj_off, sizeof (guint) * (n_nodes + 1));
  for (guint e = 0; e < n_edges; e++)
    {
      guint a = net->edges[e].a, b = net->edges[e].b;

      net->adj_node[cursor[a]] = b;
      net->adj_edge[cursor[a]++] = e;
      net->adj_node[cursor[b]] = a;
      net->adj_edge[cursor[b]++] = e;
    }

  net->node_cls = g_new0 (guint8, MAX (n_nodes, 1));
  net->sources = g_new (guint, MAX (n_nodes, 1));
  net->customers = g_new (guint, MAX (n_nodes, 1));
  for (guint v = 0; v < n_nodes; v++)
    {
      const Node *node = &net->nodes[v];

      if (is_valve_role (node->role))
        net->node_cls[v] = node->state == DOTHI_VALVE_CLOSED ? CLOSED
                           : node->state == DOTHI_VALVE_OPEN ? TO_CLOSE : PASS;
      if (node->role == DOTHI_NODE_SOURCE)
        net->sources[net->n_sources++] = v;
      if (node->role == DOTHI_NODE_CUSTOMER)
        net->customers[net->n_customers++] = v;
    }

  /* Ids: the feature's, or N<index>. */
  for (guint v = 0; v < n_nodes; v++)
    if (net->nodes[v].id == NULL)
      {
        char buf[24];

        g_snprintf (buf, sizeof buf, "N%u", v);
        net->nodes[v].id = g_string_chunk_insert (net->strings, buf);
      }

  /* How far the off-line features are from every line. */
  for (guint i = 0; i < net->off_line->len; i++)
    {
      OffLine *off = &g_array_index (net->off_line, OffLine, i);
      Node *node = &net->nodes[off->node];
      double d2 = INFINITY, reach = MAX (tol, 1.0);

      while (reach < 1e7 && nearest_segment (net, node->x, node->y, reach, &d2, NULL) == G_MAXUINT)
        reach *= 8;
      off->distance = isfinite (d2) && reach < 1e7 ? sqrt (d2) : INFINITY;
    }
  return TRUE;
}

DothiNetwork *
dothi_network_build (const char    *project_path,
                     const char    *name,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiNetwork) net = NULL;
  Builder b = { 0 };
  sqlite3 *db;
  gboolean ok = TRUE;

  g_return_val_if_fail (project_path != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  project = dothi_project_open (project_path, DOTHI_PROJECT_OPEN_READ_ONLY, error);
  if (project == NULL)
    return NULL;
  db = project_db (project, error);
  if (db == NULL)
    return NULL;

  net = g_new0 (DothiNetwork, 1);
  net->path = g_strdup (project_path);
  net->strings = g_string_chunk_new (64 * 1024);
  net->def = load_definition (project, name, error);
  if (net->def == NULL)
    return NULL;

  b.net = net;
  b.pts = g_array_new (FALSE, FALSE, sizeof (double));
  b.lines = g_array_new (FALSE, FALSE, sizeof (Line));
  b.features = g_array_new (FALSE, FALSE, sizeof (Feature));
  /* One read transaction: every layer from the same snapshot. */
  ok = exec_sql (db, "BEGIN", project_path, error);
  if (ok)
    {
      sqlite3_stmt *mark = NULL;

      /* Where the audit trail stood: later rows on the network's layers
       * mean the topology is out of date (dothi_network_is_current). */
      if (sqlite3_prepare_v2 (db, "SELECT coalesce (max (id), 0) FROM dothi_audit", -1, &mark,
                              NULL) == SQLITE_OK
          && sqlite3_step (mark) == SQLITE_ROW)
        net->audit_mark = sqlite3_column_int64 (mark, 0);
      sqlite3_finalize (mark);
    }
  for (guint i = 0; ok && i < net->def->edges->len; i++)
    ok = read_edges (&b, db, i, cancellable, error);
  for (guint i = 0; ok && i < net->def->nodes->len; i++)
    ok = read_nodes (&b, db, i, cancellable, error);
  sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
  if (ok)
    ok = build_topology (&b, cancellable, error);
  if (ok)
    compute_supply (net);
  if (b.pts)
    g_array_unref (b.pts);
  if (b.lines)
    g_array_unref (b.lines);
  g_array_unref (b.features);
  if (!ok)
    return NULL;
  return g_steal_pointer (&net);
}

gboolean
dothi_network_is_current (DothiNetwork *network, GError **error)
{
  g_autoptr(GString) sql = g_string_new ("SELECT 1 FROM dothi_audit WHERE id > ?1 AND layer IN (");
  g_autoptr(GPtrArray) layers = g_ptr_array_new ();
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db = NULL;
  gboolean current = FALSE;
  int rc;

  g_return_val_if_fail (network != NULL, FALSE);

  for (guint i = 0; i < network->def->edges->len; i++)
    g_ptr_array_add (layers, ((EdgeDef *) g_ptr_array_index (network->def->edges, i))->layer);
  for (guint i = 0; i < network->def->nodes->len; i++)
    g_ptr_array_add (layers, ((NodeDef *) g_ptr_array_index (network->def->nodes, i))->layer);
  for (guint i = 0; i < layers->len; i++)
    g_string_append_printf (sql, "%s?%u", i > 0 ? ", " : "", i + 2);
  g_string_append (sql, ") LIMIT 1");

  if (sqlite3_open_v2 (network->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK
      || sqlite3_prepare_v2 (db, sql->str, -1, &stmt, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: file name, SQLite's message */
                   _("Cannot read the history of “%s”: %s"), network->path,
                   db != NULL ? sqlite3_errmsg (db) : "");
      sqlite3_close (db);
      return FALSE;
    }
  sqlite3_busy_timeout (db, 5000);
  sqlite3_bind_int64 (stmt, 1, network->audit_mark);
  for (guint i = 0; i < layers->len; i++)
    sqlite3_bind_text (stmt, (int) i + 2, g_ptr_array_index (layers, i), -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    current = TRUE;
  else if (rc != SQLITE_ROW)
    g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                 _("Cannot read the history of “%s”: %s"), network->path, sqlite3_errmsg (db));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return current;
}

gboolean
dothi_network_save (DothiNetwork  *network,
                    DothiProject  *project,
                    GError       **error)
{
  g_autoptr(sqlite3_stmt) del = NULL;
  g_autoptr(sqlite3_stmt) ins = NULL;
  const char *path;
  const char *name;
  sqlite3 *db;
  gboolean ok;

  g_return_val_if_fail (network != NULL, FALSE);
  g_return_val_if_fail (DOTHI_IS_PROJECT (project), FALSE);

  path = dothi_project_get_path (project);
  name = network->def->name;
  db = begin_write (project, error);
  if (db == NULL)
    return FALSE;
  ok = ensure_table (db, "dothi_network_nodes",
                     "CREATE TABLE dothi_network_nodes (\n"
                     "  network TEXT NOT NULL,\n"
                     "  idx INTEGER NOT NULL,\n"
                     "  role TEXT NOT NULL,\n"
                     "  layer TEXT,\n"
                     "  fid INTEGER,\n"
                     "  id TEXT,\n"
                     "  x DOUBLE,\n"
                     "  y DOUBLE,\n"
                     "  state TEXT,\n"
                     "  PRIMARY KEY (network, idx))", path, error)
       && ensure_table (db, "dothi_network_edges",
                        "CREATE TABLE dothi_network_edges (\n"
                        "  network TEXT NOT NULL,\n"
                        "  idx INTEGER NOT NULL,\n"
                        "  layer TEXT NOT NULL,\n"
                        "  fid INTEGER NOT NULL,\n"
                        "  node_a INTEGER NOT NULL,\n"
                        "  node_b INTEGER NOT NULL,\n"
                        "  length DOUBLE NOT NULL,\n"
                        "  t0 DOUBLE NOT NULL,\n"
                        "  t1 DOUBLE NOT NULL,\n"
                        "  PRIMARY KEY (network, idx))", path, error);
  for (guint t = 0; ok && t < 2; t++)
    {
      const char *sql = t == 0 ? "DELETE FROM dothi_network_nodes WHERE network = ?1"
                               : "DELETE FROM dothi_network_edges WHERE network = ?1";

      ok = sqlite3_prepare_v2 (db, sql, -1, &del, NULL) == SQLITE_OK
           && sqlite3_bind_text (del, 1, name, -1, SQLITE_STATIC) == SQLITE_OK
           && sqlite3_step (del) == SQLITE_DONE;
      g_clear_pointer (&del, sqlite3_finalize);
    }
  if (ok)
    ok = sqlite3_prepare_v2 (db, "INSERT INTO dothi_network_nodes "
                             "(network, idx, role, layer, fid, id, x, y, state) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", -1, &ins, NULL) == SQLITE_OK
         && sqlite3_bind_text (ins, 1, name, -1, SQLITE_STATIC) == SQLITE_OK;
  for (guint v = 0; ok && v < network->n_nodes; v++)
    {
      const Node *node = &network->nodes[v];

      sqlite3_reset (ins);
      sqlite3_bind_int64 (ins, 2, v);
      sqlite3_bind_text (ins, 3, role_names[node->role], -1, SQLITE_STATIC);
      if (node->layer >= 0)
        {
          NodeDef *nd = g_ptr_array_index (network->def->nodes, node->layer);
          sqlite3_bind_text (ins, 4, nd->layer, -1, SQLITE_STATIC);
          sqlite3_bind_int64 (ins, 5, node->fid);
        }
      else
        {
          sqlite3_bind_null (ins, 4);
          sqlite3_bind_null (ins, 5);
        }
      sqlite3_bind_text (ins, 6, node->id, -1, SQLITE_STATIC);
      sqlite3_bind_double (ins, 7, node->x);
      sqlite3_bind_double (ins, 8, node->y);
      if (is_valve_role (node->role))
        sqlite3_bind_text (ins, 9, state_names[node->state], -1, SQLITE_STATIC);
      else
        sqlite3_bind_null (ins, 9);
      ok = sqlite3_step (ins) == SQLITE_DONE;
    }
  g_clear_pointer (&ins, sqlite3_finalize);
  if (ok)
    ok = sqlite3_prepare_v2 (db, "INSERT INTO dothi_network_edges "
                             "(network, idx, layer, fid, node_a, node_b, length, t0, t1) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", -1, &ins, NULL) == SQLITE_OK
         && sqlite3_bind_text (ins, 1, name, -1, SQLITE_STATIC) == SQLITE_OK;
  for (guint e = 0; ok && e < network->n_edges; e++)
    {
      const Edge *edge = &network->edges[e];
      const Line *line = &network->lines[edge->line];
      EdgeDef *ed = g_ptr_array_index (network->def->edges, line->layer);

      sqlite3_reset (ins);
      sqlite3_bind_int64 (ins, 2, e);
      sqlite3_bind_text (ins, 3, ed->layer, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (ins, 4, line->fid);
      sqlite3_bind_int64 (ins, 5, edge->a);
      sqlite3_bind_int64 (ins, 6, edge->b);
      sqlite3_bind_double (ins, 7, edge->length);
      sqlite3_bind_double (ins, 8, edge->t0);
      sqlite3_bind_double (ins, 9, edge->t1);
      ok = sqlite3_step (ins) == SQLITE_DONE;
    }
  g_clear_pointer (&ins, sqlite3_finalize);
  if (!ok)
    set_db_error (db, path, error);
  return end_write (db, ok, path, error);
}

guint
dothi_network_get_n_nodes (DothiNetwork *network)
{
  g_return_val_if_fail (network != NULL, 0);
  return network->n_nodes;
}

guint
dothi_network_get_n_edges (DothiNetwork *network)
{
  g_return_val_if_fail (network != NULL, 0);
  return network->n_edges;
}

static const char *
node_layer_name (DothiNetwork *network, const Node *node)
{
  if (node->layer < 0)
    return NULL;
  return ((NodeDef *) g_ptr_array_index (network->def->nodes, node->layer))->layer;
}

static const char *
line_layer_name (DothiNetwork *network, const Line *line)
{
  return ((EdgeDef *) g_ptr_array_index (network->def->edges, line->layer))->layer;
}

gboolean
dothi_network_get_node (DothiNetwork *network, guint node, DothiNetworkNode *out)
{
  const Node *n;

  g_return_val_if_fail (network != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  if (node >= network->n_nodes)
    return FALSE;
  n = &network->nodes[node];
  out->role = n->role;
  out->layer = node_layer_name (network, n);
  out->fid = n->layer >= 0 ? n->fid : 0;
  out->id = n->id;
  out->x = n->x;
  out->y = n->y;
  out->state = n->state;
  out->kind = n->kind;
  return TRUE;
}

gboolean
dothi_network_get_edge (DothiNetwork *network, guint edge, DothiNetworkEdge *out)
{
  const Edge *e;

  g_return_val_if_fail (network != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  if (edge >= network->n_edges)
    return FALSE;
  e = &network->edges[edge];
  out->layer = line_layer_name (network, &network->lines[e->line]);
  out->fid = network->lines[e->line].fid;
  out->node_a = e->a;
  out->node_b = e->b;
  out->length = e->length;
  out->t0 = e->t0;
  out->t1 = e->t1;
  return TRUE;
}

guint
dothi_network_find_node (DothiNetwork *network, const char *layer, gint64 fid)
{
  FeatureRef key;
  const FeatureRef *found;
  int index = -1;

  g_return_val_if_fail (network != NULL, NO_NODE);
  g_return_val_if_fail (layer != NULL, NO_NODE);

  for (guint i = 0; i < network->def->nodes->len; i++)
    if (g_strcmp0 (((NodeDef *) g_ptr_array_index (network->def->nodes, i))->layer, layer) == 0)
      {
        index = i;
        break;
      }
  if (index < 0)
    return NO_NODE;
  key.layer = index;
  key.fid = fid;
  found = bsearch (&key, network->features, network->n_features, sizeof (FeatureRef),
                   compare_features);
  return found ? found->node : NO_NODE;
}

/* The edge of line part @l at @s metres along it. */
static guint
edge_at (DothiNetwork *net, guint l, double s)
{
  const Line *line = &net->lines[l];
  guint lo = line->edge_first, hi = line->edge_first + line->n_edges - 1;

  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;

      if (net->edges[mid].s1 < s)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

guint
dothi_network_nearest_edge (DothiNetwork *network, double x, double y,
                            double max_distance, double *position)
{
  guint seg, e;
  double t, s;
  const Edge *edge;

  g_return_val_if_fail (network != NULL, NO_NODE);

  if (!(max_distance >= 0))
    return NO_NODE;
  seg = nearest_segment (network, x, y, max_distance, NULL, &t);
  if (seg == G_MAXUINT)
    return NO_NODE;
  s = segment_arc (network, seg, t);
  e = edge_at (network, network->pt_line[seg], s);
  edge = &network->edges[e];
  if (position)
    *position = edge->s1 > edge->s0 ? CLAMP ((s - edge->s0) / (edge->s1 - edge->s0), 0.0, 1.0) : 0;
  return e;
}

/* ---- quality check ---------------------------------------------------------- */

void
dothi_network_problem_free (DothiNetworkProblem *problem)
{
  if (problem == NULL)
    return;
  g_free (problem->layer);
  g_free (problem->message);
  g_free (problem);
}

/* “V-12 (water_valves 57)”, or “water_valves 57” without an id. */
static char *
feature_name (const char *id, const char *layer, gint64 fid)
{
  if (id != NULL)
    return g_strdup_printf ("%s (%s %" G_GINT64_FORMAT ")", id, layer, fid);
  return g_strdup_printf ("%s %" G_GINT64_FORMAT, layer, fid);
}

static char *
line_name (DothiNetwork *net, guint l)
{
  const Line *line = &net->lines[l];
  return feature_name (line->id, line_layer_name (net, line), line->fid);
}

static DothiNetworkProblem *
problem_new (DothiNetworkProblemKind kind, double x, double y, const char *layer, gint64 fid,
             char *message)
{
  DothiNetworkProblem *p = g_new0 (DothiNetworkProblem, 1);

  p->kind = kind;
  p->x = x;
  p->y = y;
  p->layer = g_strdup (layer);
  p->fid = fid;
  p->message = message;
  return p;
}

static char *
off_line_message (DothiNetwork *net, const Node *node, double distance)
{
  const NodeDef *nd = g_ptr_array_index (net->def->nodes, node->layer);
  g_autofree char *name = feature_name (nd->id_field ? node->id : NULL, nd->layer, node->fid);

  switch (node->role)
    {
    case DOTHI_NODE_VALVE:
      /* Translators: a valve as “V-12 (water_valves 57)”, then metres */
      return g_strdup_printf (_("Valve %s is %.1f m from every line of the network"), name, distance);
    case DOTHI_NODE_SWITCH:
      /* Translators: a switch as “CD-3 (switches 5)”, then metres */
      return g_strdup_printf (_("Switch %s is %.1f m from every line of the network"), name, distance);
    case DOTHI_NODE_HYDRANT:
      /* Translators: a hydrant as “TC-3 (hydrants 5)”, then metres */
      return g_strdup_printf (_("Hydrant %s is %.1f m from every line of the network"), name, distance);
    case DOTHI_NODE_SOURCE:
      /* Translators: a source as “BC-1 (reservoirs 1)”, then metres */
      return g_strdup_printf (_("Source %s is %.1f m from every line of the network"), name, distance);
    case DOTHI_NODE_CUSTOMER:
      /* Translators: a customer as “KH-0042 (meters 42)”, then metres */
      return g_strdup_printf (_("Customer %s is %.1f m from every line of the network"), name, distance);
    default:
      /* Translators: a node as “J-1 (junctions 1)”, then metres */
      return g_strdup_printf (_("Node %s is %.1f m from every line of the network"), name, distance);
    }
}

static int
compare_problems (gconstpointer a, gconstpointer b)
{
  const DothiNetworkProblem *x = *(DothiNetworkProblem **) a, *y = *(DothiNetworkProblem **) b;
  int cmp;

  if (x->kind != y->kind)
    return x->kind < y->kind ? -1 : 1;
  cmp = g_strcmp0 (x->layer, y->layer);
  if (cmp != 0)
    return cmp;
  if (x->fid != y->fid)
    return x->fid < y->fid ? -1 : 1;
  if (x->x != y->x)
    return x->x < y->x ? -1 : 1;
  if (x->y != y->y)
    return x->y < y->y ? -1 : 1;
  return 0;
}

typedef struct {
  guint  seg_a, seg_b;
  double x, y;
} Crossing;

static int
compare_crossings (gconstpointer a, gconstpointer b)
{
  const Crossing *x = a, *y = b;

  if (x->seg_a != y->seg_a)
    return x->seg_a < y->seg_a ? -1 : 1;
  return x->seg_b < y->seg_b ? -1 : x->seg_b > y->seg_b;
}

static gboolean
near_line_end (DothiNetwork *net, guint l, double x, double y, double tol)
{
  const Line *line = &net->lines[l];
  guint p = line->first, q = line->first + line->n - 1;

  return hypot (net->pts[2 * p] - x, net->pts[2 * p + 1] - y) <= tol
         || hypot (net->pts[2 * q] - x, net->pts[2 * q + 1] - y) <= tol;
}

static gboolean
near_split_node (DothiNetwork *net, guint l, double x, double y, double tol)
{
  const Line *line = &net->lines[l];

  for (guint e = line->edge_first; e + 1 < line->edge_first + line->n_edges; e++)
    {
      const Node *node = &net->nodes[net->edges[e].b];
      if (hypot (node->x - x, node->y - y) <= tol)
        return TRUE;
    }
  return FALSE;
}

GPtrArray *
dothi_network_check (DothiNetwork *network, GError **error)
{
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_network_problem_free);
  DothiNetwork *net = network;
  double tol;
  g_autofree guint *comp = NULL;
  g_autofree guint *queue = NULL;
  g_autoptr(GArray) sizes = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) firsts = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) crossings = g_array_new (FALSE, FALSE, sizeof (Crossing));
  guint largest = G_MAXUINT;

  g_return_val_if_fail (network != NULL, NULL);
  tol = net->def->tolerance;

  /* Disconnected parts, valves ignored. */
  comp = g_new (guint, MAX (net->n_nodes, 1));
  queue = g_new (guint, MAX (net->n_nodes, 1));
  for (guint v = 0; v < net->n_nodes; v++)
    comp[v] = G_MAXUINT;
  for (guint v = 0; v < net->n_nodes; v++)
    {
      guint head = 0, tail = 0, n_edges = 0, first = G_MAXUINT, c = sizes->len;

      if (comp[v] != G_MAXUINT || net->adj_off[v] == net->adj_off[v + 1])
        continue;
      comp[v] = c;
      queue[tail++] = v;
      while (head < tail)
        {
          guint u = queue[head++];

          for (guint k = net->adj_off[u]; k < net->adj_off[u + 1]; k++)
            {
              guint e = net->adj_edge[k];
              guint w = net->edges[e].a == u ? net->edges[e].b : net->edges[e].a;

              if (net->edges[e].a == u || net->edges[e].a == net->edges[e].b)
                n_edges++;
              first = MIN (first, e);
              if (comp[w] == G_MAXUINT)
                {
                  comp[w] = c;
                  queue[tail++] = w;
                }
            }
        }
      g_array_append_val (sizes, n_edges);
      g_array_append_val (firsts, first);
      if (largest == G_MAXUINT || n_edges > g_array_index (sizes, guint, largest))
        largest = c;
    }
  for (guint c = 0; c < sizes->len; c++)
    {
      guint n = g_array_index (sizes, guint, c);
      guint e = g_array_index (firsts, guint, c);
      const Line *line = &net->lines[net->edges[e].line];
      const Node *a = &net->nodes[net->edges[e].a];
      g_autofree char *name = NULL;

      if (c == largest)
        continue;
      name = line_name (net, net->edges[e].line);
      g_ptr_array_add (problems,
                       problem_new (DOTHI_NETWORK_PROBLEM_DISCONNECTED, a->x, a->y,
                                    line_layer_name (net, line), line->fid,
                                    g_strdup_printf (ngettext (
                                                     /* Translators: a line as “CN-12 (water_mains 12)”, then a count */
                                                     "Line %s is in a part of %u line not connected to the rest of the network",
                                                     "Line %s is in a part of %u lines not connected to the rest of the network",
                                                     n), name, n)));
    }

  /* Dangling ends and near misses: bare junctions of one line. */
  for (guint v = 0; v < net->n_nodes; v++)
    {
      const Node *node = &net->nodes[v];
      guint e, l, seg, best = G_MAXUINT;
      double best_d2 = INFINITY;
      const Grid *g = &net->seg_grid;
      double reach = NEAR_MISS_FACTOR * tol;
      g_autofree char *name = NULL;

      if (node->layer >= 0 || net->adj_off[v + 1] - net->adj_off[v] != 1)
        continue;
      e = net->adj_edge[net->adj_off[v]];
      l = net->edges[e].line;
      name = line_name (net, l);
      /* The nearest segment of another line part. */
      for (gint64 cx = grid_coord (node->x - reach, g->minx, g->cell);
           cx <= grid_coord (node->x + reach, g->minx, g->cell); cx++)
        for (gint64 cy = grid_coord (node->y - reach, g->miny, g->cell);
             cy <= grid_coord (node->y + reach, g->miny, g->cell); cy++)
          {
            guint64 key;
            guint from, to;

            grid_bucket (g, cx, cy, &key, &from, &to);
            for (guint k = from; k < to; k++)
              {
                double d;

                seg = g->items[k];
                if (g->keys[k] != key || net->pt_line[seg] == l)
                  continue;
                d = segment_dist2 (node->x, node->y, net->pts[2 * seg], net->pts[2 * seg + 1],
                                   net->pts[2 * seg + 2], net->pts[2 * seg + 3], NULL);
                if (d < best_d2 || (d == best_d2 && seg < best))
                  {
                    best = seg;
                    best_d2 = d;
                  }
              }
          }
      if (best != G_MAXUINT && sqrt (best_d2) <= reach)
        {
          g_autofree char *other = line_name (net, net->pt_line[best]);
          const Line *line = &net->lines[l];

          g_ptr_array_add (problems,
                           problem_new (DOTHI_NETWORK_PROBLEM_NEAR_MISS, node->x, node->y,
                                        line_layer_name (net, line), line->fid,
                                        /* Translators: a line as “CN-12 (water_mains 12)”, metres, another line */
                                        g_strdup_printf (_("Line %s ends %.2f m from line %s without joining it"),
                                                         name, sqrt (best_d2), other)));
        }
      else
        {
          const Line *line = &net->lines[l];

          g_ptr_array_add (problems,
                           problem_new (DOTHI_NETWORK_PROBLEM_DANGLING, node->x, node->y,
                                        line_layer_name (net, line), line->fid,
                                        /* Translators: a line as “CN-12 (water_mains 12)”, then coordinates */
                                        g_strdup_printf (_("Line %s ends at (%.2f, %.2f) without joining another line"),
                                                         name, node->x, node->y)));
        }
    }

  /* Crossings: segment pairs sharing a grid cell. */
  {
    const Grid *g = &net->seg_grid;
    guint n_buckets = g->mask + 1;

    for (guint h = 0; h < n_buckets; h++)
      for (guint i = g->start[h]; i < g->start[h + 1]; i++)
        for (guint j = i + 1; j < g->start[h + 1]; j++)
          {
            guint s = g->items[i], t = g->items[j];
            guint ls, lt;
            Crossing c;

            if (g->keys[i] != g->keys[j])
              continue;
            ls = net->pt_line[s];
            lt = net->pt_line[t];
            if (ls == lt)
              continue;
            if (!segments_cross (net->pts[2 * s], net->pts[2 * s + 1],
                                 net->pts[2 * s + 2], net->pts[2 * s + 3],
                                 net->pts[2 * t], net->pts[2 * t + 1],
                                 net->pts[2 * t + 2], net->pts[2 * t + 3], &c.x, &c.y))
              continue;
            /* Lines meeting at a node are joined, not crossing. */
            if ((near_line_end (net, ls, c.x, c.y, tol) || near_split_node (net, ls, c.x, c.y, tol))
                && (near_line_end (net, lt, c.x, c.y, tol) || near_split_node (net, lt, c.x, c.y, tol)))
              continue;
            c.seg_a = MIN (s, t);
            c.seg_b = MAX (s, t);
            g_array_append_val (crossings, c);
          }
    g_array_sort (crossings, compare_crossings);
    for (guint i = 0; i < crossings->len; i++)
      {
        Crossing *c = &g_array_index (crossings, Crossing, i);
        const Line *line;
        g_autofree char *a = NULL;
        g_autofree char *b = NULL;

        if (i > 0 && compare_crossings (c, c - 1) == 0)
          continue;
        line = &net->lines[net->pt_line[c->seg_a]];
        a = line_name (net, net->pt_line[c->seg_a]);
        b = line_name (net, net->pt_line[c->seg_b]);
        g_ptr_array_add (problems,
                         problem_new (DOTHI_NETWORK_PROBLEM_CROSSING, c->x, c->y,
                                      line_layer_name (net, line), line->fid,
                                      /* Translators: two lines as “CN-12 (water_mains 12)”, then coordinates */
                                      g_strdup_printf (_("Lines %s and %s cross at (%.2f, %.2f) without a node"),
                                                       a, b, c->x, c->y)));
      }
  }

  /* Node features off every line. */
  for (guint i = 0; i < net->off_line->len; i++)
    {
      const OffLine *off = &g_array_index (net->off_line, OffLine, i);
      const Node *node = &net->nodes[off->node];

      g_ptr_array_add (problems,
                       problem_new (DOTHI_NETWORK_PROBLEM_OFF_LINE, node->x, node->y,
                                    node_layer_name (net, node), node->fid,
                                    off_line_message (net, node, off->distance)));
    }

  g_ptr_array_sort (problems, compare_problems);
  return g_steal_pointer (&problems);
}

/* ---- traces ----------------------------------------------------------------- */

void
dothi_trace_free (DothiTrace *trace)
{
  if (trace == NULL)
    return;
  g_clear_pointer (&trace->edges, g_array_unref);
  g_clear_pointer (&trace->nodes, g_array_unref);
  g_clear_pointer (&trace->valves_to_close, g_array_unref);
  g_clear_pointer (&trace->valves_closed, g_array_unref);
  g_clear_pointer (&trace->valves_seized, g_array_unref);
  g_clear_pointer (&trace->lost_edges, g_array_unref);
  g_clear_pointer (&trace->customers, g_array_unref);
  g_clear_pointer (&trace->parcels, g_array_unref);
  g_free (trace);
}

static DothiTrace *
trace_new (void)
{
  DothiTrace *trace = g_new0 (DothiTrace, 1);

  trace->edges = g_array_new (FALSE, FALSE, sizeof (guint));
  trace->nodes = g_array_new (FALSE, FALSE, sizeof (guint));
  trace->valves_to_close = g_array_new (FALSE, FALSE, sizeof (guint));
  trace->valves_closed = g_array_new (FALSE, FALSE, sizeof (guint));
  trace->valves_seized = g_array_new (FALSE, FALSE, sizeof (guint));
  trace->lost_edges = g_array_new (FALSE, FALSE, sizeof (guint));
  trace->customers = g_array_new (FALSE, FALSE, sizeof (guint));
  trace->parcels = g_array_new (FALSE, FALSE, sizeof (gint64));
  return trace;
}

static int
compare_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;

  return x < y ? -1 : x > y;
}

/* Appends the marked indexes, in order. */
static void
collect (GArray *out, const guint8 *marks, guint n, guint8 mask)
{
  for (guint i = 0; i < n; i++)
    if (marks[i] & mask)
      g_array_append_val (out, i);
}

static void
add_lengths (DothiNetwork *net, DothiTrace *trace)
{
  for (guint i = 0; i < trace->edges->len; i++)
    trace->length += net->edges[g_array_index (trace->edges, guint, i)].length;
}

static gboolean
check_node (DothiNetwork *network, guint node, GError **error)
{
  if (node < network->n_nodes)
    return TRUE;
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
               /* Translators: a node number, network name */
               _("There is no node %u in network “%s”"), node, network->def->name);
  return FALSE;
}

#define MARK 1

/* Breadth-first from @starts; closed valves are reached but not passed.
 * Marks nodes and edges reached. */
static void
walk (DothiNetwork *net, const guint *starts, guint n_starts,
      guint8 *node_mark, guint8 *edge_mark, guint *queue)
{
  guint head = 0, tail = 0;

  for (guint i = 0; i < n_starts; i++)
    if (!node_mark[starts[i]])
      {
        node_mark[starts[i]] = MARK;
        queue[tail++] = starts[i];
      }
  while (head < tail)
    {
      guint u = queue[head++];

      if (net->node_cls[u] == CLOSED)
        continue;
      for (guint k = net->adj_off[u]; k < net->adj_off[u + 1]; k++)
        {
          guint w = net->adj_node[k];

          edge_mark[net->adj_edge[k]] = MARK;
          if (!node_mark[w])
            {
              node_mark[w] = MARK;
              queue[tail++] = w;
            }
        }
    }
}

DothiTrace *
dothi_network_trace_connected (DothiNetwork *network, guint node, GError **error)
{
  g_autofree guint8 *node_mark = NULL;
  g_autofree guint8 *edge_mark = NULL;
  g_autofree guint *queue = NULL;
  DothiTrace *trace;

  g_return_val_if_fail (network != NULL, NULL);
  if (!check_node (network, node, error))
    return NULL;

  node_mark = g_new0 (guint8, network->n_nodes);
  edge_mark = g_new0 (guint8, MAX (network->n_edges, 1));
  queue = g_new (guint, network->n_nodes);
  walk (network, &node, 1, node_mark, edge_mark, queue);

  trace = trace_new ();
  collect (trace->nodes, node_mark, network->n_nodes, MARK);
  collect (trace->edges, edge_mark, network->n_edges, MARK);
  add_lengths (network, trace);
  return trace;
}

/* ---- shortest distances ----------------------------------------------------- */

typedef struct {
  double dist;
  guint  node;
} HeapItem;

typedef struct {
  HeapItem *items;
  guint     n;
  guint     size;
} Heap;

static inline gboolean
heap_less (const HeapItem *a, const HeapItem *b)
{
  return a->dist < b->dist || (a->dist == b->dist && a->node < b->node);
}

static void
heap_push (Heap *h, double dist, guint node)
{
  guint i;

  if (h->n == h->size)
    {
      h->size = MAX (64, h->size * 2);
      h->items = g_renew (HeapItem, h->items, h->size);
    }
  i = h->n++;
  h->items[i] = (HeapItem) { dist, node };
  while (i > 0)
    {
      guint up = (i - 1) / 2;
      HeapItem tmp;

      if (!heap_less (&h->items[i], &h->items[up]))
        break;
      tmp = h->items[i];
      h->items[i] = h->items[up];
      h->items[up] = tmp;
      i = up;
    }
}

static HeapItem
heap_pop (Heap *h)
{
  HeapItem top = h->items[0];
  guint i = 0;

  h->items[0] = h->items[--h->n];
  for (;;)
    {
      guint l = 2 * i + 1, r = l + 1, m = i;
      HeapItem tmp;

      if (l < h->n && heap_less (&h->items[l], &h->items[m]))
        m = l;
      if (r < h->n && heap_less (&h->items[r], &h->items[m]))
        m = r;
      if (m == i)
        break;
      tmp = h->items[i];
      h->items[i] = h->items[m];
      h->items[m] = tmp;
      i = m;
    }
  return top;
}

/* Dijkstra from @starts (distance 0) until @target is settled (G_MAXUINT:
 * every node). Closed valves are reached but not passed, unless they are
 * a start. @dist gets INFINITY for unreached nodes, @pred_edge the edge
 * each node was reached by (G_MAXUINT for starts). */
static void
dijkstra (DothiNetwork *net, const guint *starts, guint n_starts, guint target,
          double *dist, guint *pred_edge)
{
  Heap heap = { 0 };
  g_autofree guint8 *done = g_new0 (guint8, MAX (net->n_nodes, 1));

  for (guint v = 0; v < net->n_nodes; v++)
    {
      dist[v] = INFINITY;
      pred_edge[v] = G_MAXUINT;
    }
  for (guint i = 0; i < n_starts; i++)
    {
      dist[starts[i]] = 0;
      heap_push (&heap, 0, starts[i]);
    }
  while (heap.n > 0)
    {
      HeapItem top = heap_pop (&heap);
      guint u = top.node;

      if (done[u] || top.dist > dist[u])
        continue;
      done[u] = TRUE;
      if (u == target)
        break;
      if (net->node_cls[u] == CLOSED && dist[u] > 0)
        continue;
      for (guint k = net->adj_off[u]; k < net->adj_off[u + 1]; k++)
        {
          guint e = net->adj_edge[k];
          guint w = net->adj_node[k];
          double d = dist[u] + net->edges[e].length;

          /* Equal paths: the lower edge, so answers are stable. */
          if (d < dist[w] || (d == dist[w] && !done[w] && e < pred_edge[w]))
            {
              dist[w] = d;
              pred_edge[w] = e;
              heap_push (&heap, d, w);
            }
        }
    }
  g_free (heap.items);
}

DothiTrace *
dothi_network_shortest_path (DothiNetwork *network, guint from, guint to, GError **error)
{
  g_autofree double *dist = NULL;
  g_autofree guint *pred = NULL;
  g_autofree guint8 *node_mark = NULL;
  g_autofree guint8 *edge_mark = NULL;
  DothiTrace *trace;

  g_return_val_if_fail (network != NULL, NULL);
  if (!check_node (network, from, error) || !check_node (network, to, error))
    return NULL;

  dist = g_new (double, network->n_nodes);
  pred = g_new (guint, network->n_nodes);
  dijkstra (network, &from, 1, to, dist, pred);
  if (!isfinite (dist[to]))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: two node ids, network name */
                   _("Nodes %s and %s are not connected in network “%s”"),
                   network->nodes[from].id, network->nodes[to].id, network->def->name);
      return NULL;
    }
  node_mark = g_new0 (guint8, network->n_nodes);
  edge_mark = g_new0 (guint8, MAX (network->n_edges, 1));
  node_mark[to] = MARK;
  for (guint v = to; v != from;)
    {
      guint e = pred[v];

      edge_mark[e] = MARK;
      v = network->edges[e].a == v ? network->edges[e].b : network->edges[e].a;
      node_mark[v] = MARK;
    }
  trace = trace_new ();
  collect (trace->nodes, node_mark, network->n_nodes, MARK);
  collect (trace->edges, edge_mark, network->n_edges, MARK);
  trace->length = dist[to];
  return trace;
}

/* What the sources feed as the valves are now, and how far: computed
 * once with the topology. */
static void
compute_supply (DothiNetwork *net)
{
  g_autofree guint *pred = g_new (guint, MAX (net->n_nodes, 1));
  g_autofree guint *queue = g_new (guint, MAX (net->n_nodes, 1));

  net->flow_dist = g_new (double, MAX (net->n_nodes, 1));
  dijkstra (net, net->sources, net->n_sources, G_MAXUINT, net->flow_dist, pred);
  net->fed_node = g_new0 (guint8, MAX (net->n_nodes, 1));
  net->fed_edge = g_new0 (guint8, MAX (net->n_edges, 1));
  walk (net, net->sources, net->n_sources, net->fed_node, net->fed_edge, queue);
}

/* Upstream (@up) or downstream of @node: edges whose flow, from the end
 * nearer the sources to the farther, leads to or comes from @node. */
static DothiTrace *
trace_flow (DothiNetwork *net, guint node, gboolean up, GError **error)
{
  const double *dist;
  g_autofree guint8 *node_mark = NULL;
  g_autofree guint8 *edge_mark = NULL;
  g_autofree guint *queue = NULL;
  guint head = 0, tail = 0;
  DothiTrace *trace;

  g_return_val_if_fail (net != NULL, NULL);
  if (!check_node (net, node, error))
    return NULL;

  dist = net->flow_dist;
  node_mark = g_new0 (guint8, net->n_nodes);
  edge_mark = g_new0 (guint8, MAX (net->n_edges, 1));
  queue = g_new (guint, net->n_nodes);
  node_mark[node] = MARK;
  queue[tail++] = node;
  while (head < tail)
    {
      guint u = queue[head++];

      if (!isfinite (dist[u]))
        continue;
      /* Nothing flows out of a closed valve. */
      if (!up && net->node_cls[u] == CLOSED)
        continue;
      for (guint k = net->adj_off[u]; k < net->adj_off[u + 1]; k++)
        {
          guint w = net->adj_node[k];
          gboolean flows;

          if (up)
            flows = isfinite (dist[w]) && dist[w] < dist[u] && net->node_cls[w] != CLOSED;
          else
            flows = isfinite (dist[w]) && dist[w] > dist[u];
          if (!flows)
            continue;
          edge_mark[net->adj_edge[k]] = MARK;
          if (!node_mark[w])
            {
              node_mark[w] = MARK;
              queue[tail++] = w;
            }
        }
    }
  trace = trace_new ();
  collect (trace->nodes, node_mark, net->n_nodes, MARK);
  collect (trace->edges, edge_mark, net->n_edges, MARK);
  add_lengths (net, trace);
  return trace;
}

DothiTrace *
dothi_network_trace_upstream (DothiNetwork *network, guint node, GError **error)
{
  return trace_flow (network, node, TRUE, error);
}

DothiTrace *
dothi_network_trace_downstream (DothiNetwork *network, guint node, GError **error)
{
  return trace_flow (network, node, FALSE, error);
}

/* ---- isolation -------------------------------------------------------------- */

#define IN_REGION   1
#define ENTERED     2   /* passed: every edge of it is in the region */
#define FED_AFTER   4

static int
compare_customers_fn (const void *a, const void *b, void *data)
{
  DothiNetwork *net = data;
  guint x = *(const guint *) a, y = *(const guint *) b;

  if (net->nodes[x].critical != net->nodes[y].critical)
    return net->nodes[x].critical ? -1 : 1;
  return x < y ? -1 : x > y;
}

DothiTrace *
dothi_network_isolate (DothiNetwork  *network,
                       guint          edge,
                       const guint   *seized,
                       guint          n_seized,
                       GError       **error)
{
  DothiNetwork *net = network;
  g_autofree guint8 *cls = NULL;
  g_autofree guint8 *node_mark = NULL;
  g_autofree guint8 *edge_mark = NULL;
  g_autofree guint *queue = NULL;
  guint head = 0, tail = 0, n_region;
  DothiTrace *trace;

  g_return_val_if_fail (network != NULL, NULL);
  g_return_val_if_fail (seized != NULL || n_seized == 0, NULL);

  if (edge >= net->n_edges)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: an edge number, network name */
                   _("There is no edge %u in network “%s”"), edge, net->def->name);
      return NULL;
    }
  for (guint i = 0; i < n_seized; i++)
    if (!check_node (net, seized[i], error))
      return NULL;

  /* Plain arrays only: this runs in a few milliseconds on 140k edges. */
  cls = g_memdup2 (net->node_cls, MAX (net->n_nodes, 1));
  for (guint i = 0; i < n_seized; i++)
    if (cls[seized[i]] == TO_CLOSE)
      cls[seized[i]] = PASS;
  node_mark = g_new0 (guint8, net->n_nodes);
  edge_mark = g_new0 (guint8, net->n_edges);
  queue = g_new (guint, net->n_nodes);
  trace = trace_new ();

  /* The region: from the broken edge's ends out to the first valves that
   * shut; seized ones are passed. */
  edge_mark[edge] = IN_REGION;
  g_array_append_val (trace->edges, edge);
  for (guint end = 0; end < 2; end++)
    {
      guint v = end == 0 ? net->edges[edge].a : net->edges[edge].b;

      if (!node_mark[v])
        {
          node_mark[v] = IN_REGION;
          queue[tail++] = v;
        }
    }
  while (head < tail)
    {
      guint u = queue[head++];

      if (cls[u] != PASS)
        continue;
      node_mark[u] |= ENTERED;
      for (guint k = net->adj_off[u]; k < net->adj_off[u + 1]; k++)
        {
          guint e = net->adj_edge[k];
          guint w = net->adj_node[k];

          if (!edge_mark[e])
            {
              edge_mark[e] = IN_REGION;
              g_array_append_val (trace->edges, e);
            }
          if (!node_mark[w])
            {
              node_mark[w] = IN_REGION;
              queue[tail++] = w;
            }
        }
    }
  n_region = tail;

  /* A valve on the boundary only matters when an edge of it lies outside;
   * one with the region on every side isolates nothing more. */
  for (guint i = 0; i < n_region; i++)
    {
      guint v = queue[i];
      gboolean outside = FALSE;

      g_array_append_val (trace->nodes, v);
      if (cls[v] == PASS)
        {
          if (is_valve_role (net->nodes[v].role))
            g_array_append_val (trace->valves_seized, v);
          continue;
        }
      for (guint k = net->adj_off[v]; k < net->adj_off[v + 1] && !outside; k++)
        outside = !edge_mark[net->adj_edge[k]];
      if (!outside)
        node_mark[v] |= ENTERED;
      else if (cls[v] == TO_CLOSE)
        g_array_append_val (trace->valves_to_close, v);
      else
        g_array_append_val (trace->valves_closed, v);
    }

  /* Then the sources, with those valves shut and the region cut out. */
  head = tail = 0;
  for (guint i = 0; i < net->n_sources; i++)
    {
      guint s = net->sources[i];

      if (node_mark[s] & ENTERED)
        continue;
      node_mark[s] |= FED_AFTER;
      queue[tail++] = s;
    }
  while (head < tail)
    {
      guint u = queue[head++];

      if (cls[u] == CLOSED || (cls[u] == TO_CLOSE && (node_mark[u] & IN_REGION)))
        continue;
      for (guint k = net->adj_off[u]; k < net->adj_off[u + 1]; k++)
        {
          guint e = net->adj_edge[k];
          guint w = net->adj_node[k];

          if (edge_mark[e] & IN_REGION)
            continue;
          edge_mark[e] |= FED_AFTER;
          if (!(node_mark[w] & FED_AFTER))
            {
              node_mark[w] |= FED_AFTER;
              queue[tail++] = w;
            }
        }
    }

  /* Lost: the region, and whatever the sources fed before and not now. */
  for (guint e = 0; e < net->n_edges; e++)
    if ((edge_mark[e] & IN_REGION) || (net->fed_edge[e] && !(edge_mark[e] & FED_AFTER)))
      g_array_append_val (trace->lost_edges, e);
  for (guint i = 0; i < net->n_customers; i++)
    {
      guint v = net->customers[i];

      if ((node_mark[v] & ENTERED) || (net->fed_node[v] && !(node_mark[v] & FED_AFTER)))
        g_array_append_val (trace->customers, v);
    }
  g_array_sort (trace->edges, compare_uint);
  g_array_sort (trace->nodes, compare_uint);
  g_array_sort (trace->valves_to_close, compare_uint);
  g_array_sort (trace->valves_closed, compare_uint);
  g_array_sort (trace->valves_seized, compare_uint);
  g_qsort_with_data (trace->customers->data, trace->customers->len, sizeof (guint),
                     compare_customers_fn, net);
  add_lengths (net, trace);
  return trace;
}


static int
compare_zones (gconstpointer a, gconstpointer b)
{
  const DothiTrace *x = *(const DothiTrace * const *) a;
  const DothiTrace *y = *(const DothiTrace * const *) b;

  return (x->length < y->length) - (x->length > y->length);
}

/* ---- valve-bounded zones ------------------------------------------------------ */

/* Zones as every valve shut would leave them: a walk over the pipes that
 * stops at each valve (open or closed; a valve is on the boundary of
 * every zone it touches, not inside one). Zones come largest first. */
GPtrArray *
dothi_network_valve_zones (DothiNetwork *network, GError **error)
{
  DothiNetwork *net = network;
  g_autoptr(GPtrArray) zones = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_trace_free);
  g_autofree guint *zone_of = NULL;
  g_autofree guint *queue = NULL;
  g_autofree guint *stamp = NULL;

  g_return_val_if_fail (network != NULL, NULL);

  zone_of = g_new (guint, MAX (net->n_edges, 1));
  queue = g_new (guint, MAX (net->n_nodes, 1));
  stamp = g_new0 (guint, MAX (net->n_nodes, 1));
  for (guint e = 0; e < net->n_edges; e++)
    zone_of[e] = G_MAXUINT;

  for (guint first = 0; first < net->n_edges; first++)
    {
      DothiTrace *zone;
      guint z, head = 0, tail = 0;

      if (zone_of[first] != G_MAXUINT)
        continue;
      z = zones->len;
      zone = trace_new ();
      g_ptr_array_add (zones, zone);
      zone_of[first] = z;
      g_array_append_val (zone->edges, first);
      /* Walk from the edge's ends; a valve end is a boundary. */
      for (int end = 0; end < 2; end++)
        {
          guint v = end == 0 ? net->edges[first].a : net->edges[first].b;

          if (stamp[v] != z + 1)
            {
              stamp[v] = z + 1;
              queue[tail++] = v;
            }
        }
      while (head < tail)
        {
          guint u = queue[head++];

          g_array_append_val (zone->nodes, u);
          if (is_valve_role (net->nodes[u].role))
            {
              g_array_append_val (zone->valves_to_close, u);
              continue;
            }
          for (guint k = net->adj_off[u]; k < net->adj_off[u + 1]; k++)
            {
              guint e = net->adj_edge[k], w = net->adj_node[k];

              if (zone_of[e] == G_MAXUINT)
                {
                  zone_of[e] = z;
                  g_array_append_val (zone->edges, e);
                }
              if (stamp[w] != z + 1)
                {
                  stamp[w] = z + 1;
                  queue[tail++] = w;
                }
            }
        }
    }

  for (guint i = 0; i < net->n_customers; i++)
    {
      guint v = net->customers[i];

      /* A customer node sits on its zone's pipes: any edge of it tells. */
      if (net->adj_off[v] < net->adj_off[v + 1])
        {
          guint z = zone_of[net->adj_edge[net->adj_off[v]]];
          DothiTrace *zone = g_ptr_array_index (zones, z);

          g_array_append_val (zone->customers, v);
        }
    }
  for (guint z = 0; z < zones->len; z++)
    {
      DothiTrace *zone = g_ptr_array_index (zones, z);

      g_array_sort (zone->edges, compare_uint);
      g_array_sort (zone->nodes, compare_uint);
      g_array_sort (zone->valves_to_close, compare_uint);
      g_qsort_with_data (zone->customers->data, zone->customers->len, sizeof (guint),
                         compare_customers_fn, net);
      add_lengths (net, zone);
    }
  g_ptr_array_sort (zones, compare_zones);
  return g_steal_pointer (&zones);
}

/* ---- parcels ---------------------------------------------------------------- */

/* The point @s metres along line part @l. */
static void
line_point_at (DothiNetwork *net, guint l, double s, double *x, double *y)
{
  const Line *line = &net->lines[l];
  guint lo = line->first, hi = line->first + line->n - 1;

  while (hi - lo > 1)
    {
      guint mid = (lo + hi) / 2;

      if (net->pt_arc[mid] <= s)
        lo = mid;
      else
        hi = mid;
    }
  {
    double len = net->pt_arc[hi] - net->pt_arc[lo];
    double t = len > 0 ? CLAMP ((s - net->pt_arc[lo]) / len, 0.0, 1.0) : 0;

    *x = net->pts[2 * lo] + t * (net->pts[2 * hi] - net->pts[2 * lo]);
    *y = net->pts[2 * lo + 1] + t * (net->pts[2 * hi + 1] - net->pts[2 * lo + 1]);
  }
}

/* Appends the x, y points of edge @e's part of its line to @out. */
static void
edge_polyline (DothiNetwork *net, guint e, GArray *out)
{
  const Edge *edge = &net->edges[e];
  const Line *line = &net->lines[edge->line];
  double xy[2];

  line_point_at (net, edge->line, edge->s0, &xy[0], &xy[1]);
  g_array_append_vals (out, xy, 2);
  for (guint i = line->first; i < line->first + line->n; i++)
    if (net->pt_arc[i] > edge->s0 && net->pt_arc[i] < edge->s1)
      g_array_append_vals (out, &net->pts[2 * i], 2);
  line_point_at (net, edge->line, edge->s1, &xy[0], &xy[1]);
  g_array_append_vals (out, xy, 2);
}

typedef struct {
  gint64 fid;
  guint  what;     /* a polyline index, or G_MAXUINT - customer index */
} Candidate;

static int
compare_candidates (gconstpointer a, gconstpointer b)
{
  const Candidate *x = a, *y = b;

  if (x->fid != y->fid)
    return x->fid < y->fid ? -1 : 1;
  return x->what < y->what ? -1 : x->what > y->what;
}

typedef struct {
  GArray *xy;      /* double */
  GArray *starts;  /* guint: first point of each ring, then the end */
} Rings;

static void
ring_cb (const guint8 *coords, guint32 n, guint dims, gpointer data)
{
  Rings *r = data;
  gsize stride = 8 * (gsize) dims;
  guint start = r->xy->len / 2;

  g_array_append_val (r->starts, start);
  for (guint32 i = 0; i < n; i++)
    {
      double xy[2] = { wkb_double (coords + i * stride), wkb_double (coords + i * stride + 8) };
      g_array_append_vals (r->xy, xy, 2);
    }
}

static gboolean
rings_contain (const Rings *r, double x, double y)
{
  const double *p = (const double *) r->xy->data;
  guint n_rings = r->starts->len;
  gboolean inside = FALSE;

  for (guint k = 0; k < n_rings; k++)
    {
      guint from = g_array_index (r->starts, guint, k);
      guint to = k + 1 < n_rings ? g_array_index (r->starts, guint, k + 1) : r->xy->len / 2;

      for (guint i = from, j = to - 1; i < to; j = i++)
        if ((p[2 * i + 1] > y) != (p[2 * j + 1] > y)
            && x < (p[2 * j] - p[2 * i]) * (y - p[2 * i + 1]) / (p[2 * j + 1] - p[2 * i + 1]) + p[2 * i])
          inside = !inside;
    }
  return inside;
}

static gboolean
rings_near_polyline (const Rings *r, const double *line, guint n, double max)
{
  const double *p = (const double *) r->xy->data;
  guint n_rings = r->starts->len;
  double max2 = max * max;

  for (guint i = 0; i < n; i++)
    if (rings_contain (r, line[2 * i], line[2 * i + 1]))
      return TRUE;
  for (guint k = 0; k < n_rings; k++)
    {
      guint from = g_array_index (r->starts, guint, k);
      guint to = k + 1 < n_rings ? g_array_index (r->starts, guint, k + 1) : r->xy->len / 2;

      for (guint i = from; i + 1 < to; i++)
        for (guint j = 0; j + 1 < n; j++)
          if (segment_segment_dist2 (p[2 * i], p[2 * i + 1], p[2 * i + 2], p[2 * i + 3],
                                     line[2 * j], line[2 * j + 1],
                                     line[2 * j + 2], line[2 * j + 3]) <= max2)
            return TRUE;
    }
  return FALSE;
}

static gboolean
query_boxes (sqlite3_stmt *stmt, double minx, double miny, double maxx, double maxy, guint what,
             GArray *candidates)
{
  int rc;

  sqlite3_reset (stmt);
  sqlite3_bind_double (stmt, 1, minx);
  sqlite3_bind_double (stmt, 2, miny);
  sqlite3_bind_double (stmt, 3, maxx);
  sqlite3_bind_double (stmt, 4, maxy);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      Candidate c = { sqlite3_column_int64 (stmt, 0), what };
      g_array_append_val (candidates, c);
    }
  return rc == SQLITE_DONE;
}

gboolean
dothi_network_trace_parcels (DothiNetwork  *network,
                             DothiTrace    *trace,
                             GCancellable  *cancellable,
                             GError       **error)
{
  DothiNetwork *net = network;
  const char *layer;
  double sd;
  sqlite3 *db = NULL;
  g_autoptr(sqlite3_stmt) boxes = NULL;
  g_autoptr(sqlite3_stmt) geom = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(GArray) lines = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) starts = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));
  g_autoptr(GByteArray) wkb = g_byte_array_new ();
  Rings rings;
  gboolean ok = TRUE;

  g_return_val_if_fail (network != NULL, FALSE);
  g_return_val_if_fail (trace != NULL, FALSE);

  layer = net->def->parcel_layer;
  sd = net->def->service_distance;
  g_array_set_size (trace->parcels, 0);
  if (layer == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: network name */
                   _("Network “%s” names no parcel layer (“parcels”)"), net->def->name);
      return FALSE;
    }
  if (sqlite3_open_v2 (net->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    {
      set_db_error (db, net->path, error);
      sqlite3_close (db);
      return FALSE;
    }

  /* Candidates from the spatial index. */
  {
    g_autofree char *index = g_strdup_printf ("idx_%s_geom", layer);

    sql = sqlite3_mprintf ("SELECT pkid FROM \"%w\" WHERE xmax >= ?1 AND ymax >= ?2 "
                           "AND xmin <= ?3 AND ymin <= ?4", index);
  }
  if (sqlite3_prepare_v2 (db, sql, -1, &boxes, NULL) != SQLITE_OK)
    {
      set_db_error (db, layer, error);
      sqlite3_close (db);
      return FALSE;
    }
  for (guint i = 0; ok && i < trace->lost_edges->len; i++)
    {
      guint e = g_array_index (trace->lost_edges, guint, i);
      guint start = lines->len / 2;
      double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY;

      if (e >= net->n_edges)
        continue;
      g_array_append_val (starts, start);
      edge_polyline (net, e, lines);
      for (guint p = start; p < lines->len / 2; p++)
        {
          double x = g_array_index (lines, double, 2 * p), y = g_array_index (lines, double, 2 * p + 1);
          minx = MIN (minx, x);
          miny = MIN (miny, y);
          maxx = MAX (maxx, x);
          maxy = MAX (maxy, y);
        }
      ok = query_boxes (boxes, minx - sd, miny - sd, maxx + sd, maxy + sd, starts->len - 1,
                        candidates);
      if (ok && g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          g_clear_pointer (&boxes, sqlite3_finalize);
          sqlite3_close (db);
          return FALSE;
        }
    }
  {
    guint end = lines->len / 2;
    g_array_append_val (starts, end);
  }
  for (guint i = 0; ok && i < trace->customers->len; i++)
    {
      guint v = g_array_index (trace->customers, guint, i);

      if (v < net->n_nodes)
        ok = query_boxes (boxes, net->nodes[v].x, net->nodes[v].y, net->nodes[v].x,
                          net->nodes[v].y, G_MAXUINT - v, candidates);
    }
  g_clear_pointer (&boxes, sqlite3_finalize);
  if (!ok)
    {
      set_db_error (db, layer, error);
      sqlite3_close (db);
      return FALSE;
    }

  /* Then the exact test, one parcel geometry read once. */
  g_array_sort (candidates, compare_candidates);
  g_clear_pointer (&sql, sqlite3_free);
  sql = sqlite3_mprintf ("SELECT geom FROM \"%w\" WHERE fid = ?1", layer);
  if (sqlite3_prepare_v2 (db, sql, -1, &geom, NULL) != SQLITE_OK)
    {
      set_db_error (db, layer, error);
      sqlite3_close (db);
      return FALSE;
    }
  rings.xy = g_array_new (FALSE, FALSE, sizeof (double));
  rings.starts = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; ok && i < candidates->len;)
    {
      gint64 fid = g_array_index (candidates, Candidate, i).fid;
      guint j = i;
      gboolean hit = FALSE;
      int rc;

      while (j < candidates->len && g_array_index (candidates, Candidate, j).fid == fid)
        j++;
      if ((i & 255) == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      sqlite3_reset (geom);
      sqlite3_bind_int64 (geom, 1, fid);
      rc = sqlite3_step (geom);
      if (rc == SQLITE_ROW)
        {
          g_array_set_size (rings.xy, 0);
          g_array_set_size (rings.starts, 0);
          if (blob_walk (sqlite3_column_blob (geom, 0), sqlite3_column_bytes (geom, 0), wkb,
                         ring_cb, &rings))
            for (guint k = i; k < j && !hit; k++)
              {
                guint what = g_array_index (candidates, Candidate, k).what;

                if (what >= starts->len)
                  {
                    const Node *node = &net->nodes[G_MAXUINT - what];
                    hit = rings_contain (&rings, node->x, node->y);
                  }
                else
                  {
                    guint from = g_array_index (starts, guint, what);
                    guint to = g_array_index (starts, guint, what + 1);

                    hit = rings_near_polyline (&rings, &g_array_index (lines, double, 2 * from),
                                               to - from, sd);
                  }
              }
        }
      else if (rc != SQLITE_DONE)
        {
          set_db_error (db, layer, error);
          ok = FALSE;
        }
      if (hit)
        g_array_append_val (trace->parcels, fid);
      i = j;
    }
  g_array_unref (rings.xy);
  g_array_unref (rings.starts);
  g_clear_pointer (&geom, sqlite3_finalize);
  sqlite3_close (db);
  if (!ok)
    g_array_set_size (trace->parcels, 0);
  return ok;
}

/* ---- valve operations ------------------------------------------------------- */

static char *
valve_label (DothiNodeRole role, DothiValveState state, const char *name, const char *work_order)
{
  gboolean wo = work_order != NULL && work_order[0] != '\0';
  gboolean sw = role == DOTHI_NODE_SWITCH;

  switch (state)
    {
    case DOTHI_VALVE_CLOSED:
      if (sw)
        return wo ? /* Translators: a switch id, then a work order number */
                    g_strdup_printf (_("Switch off %s — work order %s"), name, work_order)
                  : /* Translators: a switch id */
                    g_strdup_printf (_("Switch off %s"), name);
      return wo ? /* Translators: a valve id, then a work order number */
                  g_strdup_printf (_("Close valve %s — work order %s"), name, work_order)
                : /* Translators: a valve id */
                  g_strdup_printf (_("Close valve %s"), name);
    case DOTHI_VALVE_SEIZED:
      if (sw)
        return wo ? /* Translators: a switch id, then a work order number */
                    g_strdup_printf (_("Mark switch %s stuck — work order %s"), name, work_order)
                  : /* Translators: a switch id */
                    g_strdup_printf (_("Mark switch %s stuck"), name);
      return wo ? /* Translators: a valve id, then a work order number */
                  g_strdup_printf (_("Mark valve %s seized — work order %s"), name, work_order)
                : /* Translators: a valve id */
                  g_strdup_printf (_("Mark valve %s seized"), name);
    default:
      if (sw)
        return wo ? /* Translators: a switch id, then a work order number */
                    g_strdup_printf (_("Switch on %s — work order %s"), name, work_order)
                  : /* Translators: a switch id */
                    g_strdup_printf (_("Switch on %s"), name);
      return wo ? /* Translators: a valve id, then a work order number */
                  g_strdup_printf (_("Open valve %s — work order %s"), name, work_order)
                : /* Translators: a valve id */
                  g_strdup_printf (_("Open valve %s"), name);
    }
}

gint64
dothi_network_set_valve_state (DothiProject    *project,
                               const char      *name,
                               const char      *layer,
                               gint64           fid,
                               DothiValveState  state,
                               const char      *work_order,
                               GError         **error)
{
  g_autoptr(Definition) def = NULL;
  g_autoptr(DothiChangeSet) set = NULL;
  g_autoptr(JsonObject) properties = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autofree char *valve = NULL;
  g_autofree char *label = NULL;
  NodeDef *nd = NULL;
  sqlite3 *db;
  int rc;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), 0);
  g_return_val_if_fail (name != NULL, 0);
  g_return_val_if_fail (layer != NULL, 0);
  g_return_val_if_fail (state <= DOTHI_VALVE_SEIZED, 0);

  def = load_definition (project, name, error);
  if (def == NULL)
    return 0;
  for (guint i = 0; i < def->nodes->len; i++)
    {
      NodeDef *candidate = g_ptr_array_index (def->nodes, i);

      if (g_strcmp0 (candidate->layer, layer) == 0 && is_valve_role (candidate->role))
        {
          nd = candidate;
          break;
        }
    }
  if (nd == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer name, network name */
                   _("Layer “%s” holds no valves or switches of network “%s”"), layer, def->name);
      return 0;
    }
  if (nd->status_field == NULL || nd->values[state]->len == 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: network name, layer name */
                   _("Network “%s”: valve layer “%s” has no “status_field” and values to record the state in"),
                   def->name, nd->layer);
      return 0;
    }

  db = project_db (project, error);
  if (db == NULL)
    return 0;
  if (nd->id_field)
    sql = sqlite3_mprintf ("SELECT \"%w\" FROM \"%w\" WHERE fid = ?1", nd->id_field, nd->layer);
  else
    sql = sqlite3_mprintf ("SELECT NULL FROM \"%w\" WHERE fid = ?1", nd->layer);
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK
      || sqlite3_bind_int64 (stmt, 1, fid) != SQLITE_OK)
    {
      set_db_error (db, nd->layer, error);
      return 0;
    }
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: layer name, feature id */
                   _("Layer “%s” has no feature %lld"), nd->layer, (long long) fid);
      return 0;
    }
  if (rc != SQLITE_ROW)
    {
      set_db_error (db, nd->layer, error);
      return 0;
    }
  if (sqlite3_column_type (stmt, 0) != SQLITE_NULL)
    valve = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  else
    valve = feature_name (NULL, nd->layer, fid);
  g_clear_pointer (&stmt, sqlite3_finalize);

  label = valve_label (nd->role, state, valve, work_order);
  properties = json_object_new ();
  json_object_set_string_member (properties, nd->status_field,
                                 g_ptr_array_index (nd->values[state], 0));
  set = dothi_change_set_new ();
  dothi_change_set_update (set, nd->layer, fid, properties, NULL);
  return dothi_edit_apply_sync (project, set, label, NULL, NULL, NULL, NULL, error);
}
