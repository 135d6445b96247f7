#pragma once
// The libxml2 API as tdxctl uses it (domain XML rendering and RELAX NG
// validation, libvirt's capabilities and a domain's live XML). Every call
// into libxml2.so.2 goes through api(): the library is opened on the first
// call (core::SharedLibrary), so the commands that never read or write XML
// do not map it and ICU (its largest dependency) at start-up. The members
// are declared from the library's own headers (decltype), so a signature can
// never drift from them. The owners below free what libxml2 allocated.

#include "tdxctl/core/shared_library.hpp"

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include <memory>

namespace tdx::libxml {

#define TDX_LIBXML_FUNCTIONS(X) \
  X(xmlAddNextSibling) \
  X(xmlAddPrevSibling) \
  X(xmlC14NDocDumpMemory) \
  X(xmlDocDumpFormatMemoryEnc) \
  X(xmlDocGetRootElement) \
  X(xmlEncodeSpecialChars) \
  X(xmlFreeDoc) \
  X(xmlFreeNode) \
  X(xmlNewChild) \
  X(xmlNewDocNode) \
  X(xmlNewNode) \
  X(xmlNewNs) \
  X(xmlNewProp) \
  X(xmlNewTextChild) \
  X(xmlNodeAddContent) \
  X(xmlNodeGetContent) \
  X(xmlNodeSetContent) \
  X(xmlReadFile) \
  X(xmlReadMemory) \
  X(xmlRelaxNGFree) \
  X(xmlRelaxNGFreeParserCtxt) \
  X(xmlRelaxNGFreeValidCtxt) \
  X(xmlRelaxNGNewParserCtxt) \
  X(xmlRelaxNGNewValidCtxt) \
  X(xmlRelaxNGParse) \
  X(xmlRelaxNGSetParserStructuredErrors) \
  X(xmlRelaxNGSetValidStructuredErrors) \
  X(xmlRelaxNGValidateDoc) \
  X(xmlSetNs) \
  X(xmlSetProp) \
  X(xmlStrEqual) \
  X(xmlUnlinkNode) \
  X(xmlXPathEvalExpression) \
  X(xmlXPathFreeContext) \
  X(xmlXPathFreeObject) \
  X(xmlXPathNewContext)

struct Api {
  TDX_LIBXML_FUNCTIONS(TDX_API_MEMBER)
  // xmlFree is a variable (the allocator hook), not a function.
  xmlFreeFunc* free_hook = nullptr;
  void free(void* p) const { (*free_hook)(p); }
};

// Opens libxml2.so.2 on first use; throws core::Failure (not_ready,
// core.library) when the library is missing.
const Api& api();

using Doc = std::unique_ptr<xmlDoc, core::ApiFree<&api, &Api::xmlFreeDoc>>;
using XPathContext = std::unique_ptr<xmlXPathContext, core::ApiFree<&api, &Api::xmlXPathFreeContext>>;
using XPathObject = std::unique_ptr<xmlXPathObject, core::ApiFree<&api, &Api::xmlXPathFreeObject>>;
using RelaxNG = std::unique_ptr<xmlRelaxNG, core::ApiFree<&api, &Api::xmlRelaxNGFree>>;
using RelaxNGParser = std::unique_ptr<xmlRelaxNGParserCtxt, core::ApiFree<&api, &Api::xmlRelaxNGFreeParserCtxt>>;
using RelaxNGValid = std::unique_ptr<xmlRelaxNGValidCtxt, core::ApiFree<&api, &Api::xmlRelaxNGFreeValidCtxt>>;

} // namespace tdx::libxml
