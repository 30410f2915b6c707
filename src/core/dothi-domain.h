/* dothi-domain.h: field domains (DESIGN.md §6 Edit): per field of a layer,
 * whether it is required, a range for numbers and a code list, stored in
 * the project's own table dothi_domains and checked on every edit. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include "dothi-layer-info.h"
#include "dothi-project.h"
#include "dothi-style.h"

G_BEGIN_DECLS

typedef struct {
  char *value;   /* the stored value as text ("ODT", "3") */
  char *label;   /* what it means, for people; may be NULL */
} DothiDomainCode;

typedef struct {
  gboolean   required;   /* NULL (or absent on insert) is refused */
  gboolean   has_min;
  double     min;        /* numbers: value >= min */
  gboolean   has_max;
  double     max;        /* numbers: value <= max */
  GPtrArray *codes;      /* DothiDomainCode*, in order; NULL for none */
} DothiDomain;

DothiDomain *dothi_domain_new      (void);
DothiDomain *dothi_domain_copy     (const DothiDomain *domain);
void         dothi_domain_free     (DothiDomain *domain);
/* Appends a code; @label may be NULL. */
void         dothi_domain_add_code (DothiDomain *domain,
                                    const char  *value,
                                    const char  *label);
/* The code entry for @value, or NULL when @value is not a code. */
const DothiDomainCode *dothi_domain_find_code (const DothiDomain *domain,
                                               const char        *value);
/* TRUE when @domain constrains nothing (then it is not stored). */
gboolean     dothi_domain_is_empty (const DothiDomain *domain);

/* The codes as a JSON object value → label (label "" when NULL), or NULL
 * when there are none. */
char        *dothi_domain_codes_to_json   (const DothiDomain *domain);
/* Replaces the codes with a JSON object value → label (string values);
 * DOTHI_ERROR_INVALID_DATA naming @field otherwise. */
gboolean     dothi_domain_set_codes_from_json (DothiDomain  *domain,
                                               const char   *json,
                                               const char   *field,
                                               GError      **error);

/* A code list from a style categorised on @field: each rule's value with
 * its legend label (or the land-use name of the code). NULL when @style is
 * not categorised on @field. The default for the form when no domain is
 * stored; never written by itself. */
DothiDomain *dothi_domain_new_from_style (const DothiStyle *style,
                                          const char       *field);

/* The domains of @layer: field name → DothiDomain*. Empty (no constraint)
 * when none is stored or the project has no dothi_domains table yet.
 * Runs on the thread that owns @project. */
GHashTable  *dothi_domain_get_all (DothiProject  *project,
                                   const char    *layer,
                                   GError       **error);

/* Stores the domain of @field of @layer as one action in the history
 * (creating dothi_domains when first written); @domain NULL or empty
 * removes it. Refused with DOTHI_ERROR_NOT_FOUND for an unknown layer or
 * field, DOTHI_ERROR_INVALID_DATA for min > max, a range on a field that
 * is not a number, codes on a field that is neither text nor a whole
 * number (or an integer field's code that is not a whole number), and
 * DOTHI_ERROR_READ_ONLY on a read-only project. */
gboolean     dothi_domain_set     (DothiProject       *project,
                                   const char         *layer,
                                   const char         *field,
                                   const DothiDomain  *domain,
                                   GError            **error);

/* Checks one value (a JSON value node, NULL or a null node for NULL) of
 * @field against @domain; DOTHI_ERROR_INVALID_DATA naming the field, the
 * layer of @info and the rule. A value of the wrong type is left to the
 * type checks. */
gboolean     dothi_domain_check_value (const DothiDomain    *domain,
                                       const DothiLayerInfo *info,
                                       const DothiField     *field,
                                       JsonNode             *value,
                                       GError              **error);

/* Checks @properties (field → value; may be NULL) of one feature of the
 * layer of @info against @domains (from dothi_domain_get_all()). For an
 * insert (@is_insert) a required field must be present and not null; for
 * an update only the listed properties are checked, and a required field
 * only refuses being set to null. Properties that are not fields of @info
 * are left to the caller. FALSE with DOTHI_ERROR_INVALID_DATA on the first
 * bad value. */
gboolean     dothi_domain_check_properties (GHashTable            *domains,
                                            const DothiLayerInfo  *info,
                                            JsonObject            *properties,
                                            gboolean               is_insert,
                                            GError               **error);

/* A number for people, in the user's locale ("100.000", "0,5" in
 * Vietnamese): for messages about ranges. */
char        *dothi_domain_format_number (double value);

/* For the history (dothi-edit.c): a domain as JSON ("null" when empty),
 * back from JSON (NULL for null), and written inside the open action. */
char        *dothi_domain_dup_json (const DothiDomain *domain);
DothiDomain *dothi_domain_new_from_json_node (JsonNode *node);
gboolean     dothi_domain_write    (DothiProject       *project,
                                    const char         *layer,
                                    const char         *field,
                                    const DothiDomain  *domain,
                                    GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiDomain, dothi_domain_free)

G_END_DECLS
