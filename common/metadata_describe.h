// The image as the Controller and Broker services describe it to clients
// (TopicDescription, BrokerDescription in controller.proto), one way for
// both.
#pragma once

#include "common/metadata_image.h"
#include "samsa/v1/controller.pb.h"

namespace samsa {

void DescribeTopic(const TopicImage& topic, v1::TopicDescription* out);
void DescribeBroker(const BrokerImage& broker, v1::BrokerDescription* out);
// The topics named (every topic when `names` is empty, in name order); a
// name without a topic gets UNKNOWN_TOPIC_OR_PARTITION.
void DescribeTopics(const MetadataImage& image,
                    const google::protobuf::RepeatedPtrField<std::string>& names,
                    google::protobuf::RepeatedPtrField<v1::TopicDescription>* out);

}  // namespace samsa
