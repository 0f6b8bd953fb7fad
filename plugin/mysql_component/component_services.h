// The service tables the component provides (defined in their own files).
#pragma once

#include <functional>

#include "plugin/mysql_component/component_abi.h"

namespace keyring_locker::mysql_component {

extern abi::ReaderWithStatus kReaderService;
extern abi::Writer kWriterService;
extern abi::Generator kGeneratorService;
extern abi::KeysMetadataIterator kIteratorService;
extern abi::ComponentStatus kStatusService;
extern abi::MetadataQuery kMetadataService;
extern abi::Load kLoadService;
extern abi::Aes kAesService;

// Runs `f` with the current instance; 1 (failure) if none is loaded or
// anything throws. Exceptions never reach the server.
struct Instance;
int WithInstance(const char* what, const std::function<int(Instance&)>& f);

}  // namespace keyring_locker::mysql_component
