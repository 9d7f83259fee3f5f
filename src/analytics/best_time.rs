//! Best time to post: a weekday × hour heat map of the seller's own engagement, in their time
//! zone, and the suggested time the composer offers once there is enough data.
