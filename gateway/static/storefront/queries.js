// The documents the storefront sends: what an app's developers would write.

const CARD = "itemId item { id title price imageUrl category }";

export const FOR_YOU = `query ForYou($userId: ID!) {
  recommendations(userId: $userId, numResults: 25, filter: {name: "exclude-purchased"}) {
    recommendationId source items { ${CARD} }
  }
}`;

export const PRODUCT = `query Product($itemId: ID!, $userId: ID!) {
  item(id: $itemId) { id title description price imageUrl category }
  relatedItems(itemId: $itemId, userId: $userId, numResults: 8) {
    recommendationId source items { ${CARD} }
  }
}`;

export const CATEGORY_SHELF = `query CategoryShelf($category: String!) {
  recommendations(userId: "storefront-shelf", numResults: 24,
    filter: {name: "category", values: [{key: "CATEGORY", values: [$category]}]}) {
    items { itemId }
  }
}`;

export const CATEGORY_RANKING = `query CategoryRanking($userId: ID!, $items: [ID!]!) {
  ranking(userId: $userId, items: $items) {
    recommendationId source items { ${CARD} }
  }
}`;

export const RECORD_EVENTS = `mutation RecordEvents($input: RecordEventsInput!) {
  recordEvents(input: $input) { accepted failed }
}`;
